package immytest

import (
	"fmt"

	"github.com/immyoss/engine/immy"
)

// Options of the builder's entities. Each kind of entity takes its own option
// interface, so that an option given to the wrong entity does not compile. A
// few options ([Name], [Tags], [Owner], [Global], [Ordered]) fit several kinds;
// the Func types ([ComputerFunc] and the like) turn any function into an option.

// TenantOption configures a tenant of [FleetBuilder.Tenant].
type TenantOption interface{ applyTenant(*immy.Tenant) }

// PersonOption configures a person of [FleetBuilder.Person].
type PersonOption interface{ applyPerson(*immy.Person) }

// ComputerOption configures a computer of [FleetBuilder.Computer].
type ComputerOption interface{ applyComputer(*immy.Computer) }

// GroupOption configures a group of [FleetBuilder.Group].
type GroupOption interface{ applyGroup(*immy.Group) }

// SoftwareOption configures a software of [FleetBuilder.Software].
type SoftwareOption interface{ applySoftware(*immy.Software) }

// TaskOption configures a task of [FleetBuilder.Task].
type TaskOption interface{ applyTask(*immy.Task) }

// DeploymentOption configures a deployment of [FleetBuilder.Deploy].
type DeploymentOption interface{ applyDeployment(*immy.Deployment) }

// TenantFunc is a function used as a TenantOption.
type TenantFunc func(*immy.Tenant)

func (f TenantFunc) applyTenant(t *immy.Tenant) { f(t) }

// PersonFunc is a function used as a PersonOption.
type PersonFunc func(*immy.Person)

func (f PersonFunc) applyPerson(p *immy.Person) { f(p) }

// ComputerFunc is a function used as a ComputerOption.
type ComputerFunc func(*immy.Computer)

func (f ComputerFunc) applyComputer(c *immy.Computer) { f(c) }

// GroupFunc is a function used as a GroupOption.
type GroupFunc func(*immy.Group)

func (f GroupFunc) applyGroup(g *immy.Group) { f(g) }

// SoftwareFunc is a function used as a SoftwareOption.
type SoftwareFunc func(*immy.Software)

func (f SoftwareFunc) applySoftware(s *immy.Software) { f(s) }

// TaskFunc is a function used as a TaskOption.
type TaskFunc func(*immy.Task)

func (f TaskFunc) applyTask(t *immy.Task) { f(t) }

// DeploymentFunc is a function used as a DeploymentOption.
type DeploymentFunc func(*immy.Deployment)

func (f DeploymentFunc) applyDeployment(d *immy.Deployment) { f(d) }

// Options shared by several kinds of entity.

// NameOption sets the name of a tenant, person, computer, group, software or task.
type NameOption string

// Name sets the display name of a tenant, person, computer, group, software or task.
func Name(name string) NameOption { return NameOption(name) }

func (o NameOption) applyTenant(t *immy.Tenant)     { t.Name = string(o) }
func (o NameOption) applyPerson(p *immy.Person)     { p.Name = string(o) }
func (o NameOption) applyComputer(c *immy.Computer) { c.Name = string(o) }
func (o NameOption) applyGroup(g *immy.Group)       { g.Name = string(o) }
func (o NameOption) applySoftware(s *immy.Software) { s.Name = string(o) }
func (o NameOption) applyTask(t *immy.Task)         { t.Name = string(o) }

// TagsOption adds tags to a tenant, person or computer.
type TagsOption []string

// Tags adds tags to a tenant, person or computer.
func Tags(tags ...string) TagsOption { return TagsOption(tags) }

func (o TagsOption) applyTenant(t *immy.Tenant)     { t.Tags = append(t.Tags, o...) }
func (o TagsOption) applyPerson(p *immy.Person)     { p.Tags = append(p.Tags, o...) }
func (o TagsOption) applyComputer(c *immy.Computer) { c.Tags = append(c.Tags, o...) }

// OwnerOption makes a software or task private to a tenant.
type OwnerOption string

// Owner makes a software or task of the MSP's own private to tenant: no other
// tenant's deployment may use it.
func Owner(tenant string) OwnerOption { return OwnerOption(tenant) }

func (o OwnerOption) applySoftware(s *immy.Software) { s.Tenant = string(o) }
func (o OwnerOption) applyTask(t *immy.Task)         { t.Tenant = string(o) }

// GlobalOption puts a software or task in the global catalogue.
type GlobalOption struct{}

// Global puts a software or task in the read-only global catalogue.
func Global() GlobalOption { return GlobalOption{} }

func (GlobalOption) applySoftware(s *immy.Software) { s.Origin = immy.OriginGlobal }
func (GlobalOption) applyTask(t *immy.Task)         { t.Origin = immy.OriginGlobal }

// OrderOption places a software's or task's actions in a session.
type OrderOption immy.Order

// Ordered places a software's or task's actions at the beginning or end of a
// session, lower positions first.
func Ordered(loc immy.OrderLocation, position int) OrderOption {
	return OrderOption{Location: loc, Position: position}
}

func (o OrderOption) applySoftware(s *immy.Software) { s.Order = immy.Order(o) }
func (o OrderOption) applyTask(t *immy.Task)         { t.Order = immy.Order(o) }

// Tenant options.

// Parent makes a tenant the child of another.
func Parent(id string) TenantOption {
	return TenantFunc(func(t *immy.Tenant) { t.Parent = id })
}

// ExcludeFromCrossTenant keeps cross-tenant deployments away from a tenant.
func ExcludeFromCrossTenant() TenantOption {
	return TenantFunc(func(t *immy.Tenant) { t.ExcludeFromCrossTenant = true })
}

// Computer options.

// Installed adds a detected software to a computer's inventory; version "" is
// a software detected without a version.
func Installed(name, version string) ComputerOption {
	v := mustVersion(version)
	return ComputerFunc(func(c *immy.Computer) {
		c.Software = append(c.Software, immy.DetectedSoftware{Name: name, Version: v})
	})
}

// OS sets a computer's operating system ("Windows 11 Pro").
func OS(os string) ComputerOption {
	return ComputerFunc(func(c *immy.Computer) { c.OS = os })
}

// UPNs sets the user principal names last seen on a computer, newest first.
func UPNs(upns ...string) ComputerOption {
	return ComputerFunc(func(c *immy.Computer) { c.UPNs = append([]string(nil), upns...) })
}

// Attr sets one attribute of a computer.
func Attr(key, value string) ComputerOption {
	return ComputerFunc(func(c *immy.Computer) {
		if c.Attributes == nil {
			c.Attributes = map[string]string{}
		}
		c.Attributes[key] = value
	})
}

// Offline makes a computer offline.
func Offline() ComputerOption {
	return ComputerFunc(func(c *immy.Computer) { c.Online = false })
}

// Onboarding sets where a computer stands in onboarding.
func Onboarding(s immy.OnboardingStatus) ComputerOption {
	return ComputerFunc(func(c *immy.Computer) { c.Onboarding = s })
}

// ExcludedFromMaintenance keeps a computer out of every session.
func ExcludedFromMaintenance() ComputerOption {
	return ComputerFunc(func(c *immy.Computer) { c.ExcludedFromMaintenance = true })
}

// DeviceGroups adds a computer to integration device groups.
func DeviceGroups(ids ...string) ComputerOption {
	return ComputerFunc(func(c *immy.Computer) { c.DeviceGroups = append(c.DeviceGroups, ids...) })
}

// TaskResult records the known test result of a task on a computer.
func TaskResult(task string, passed bool) ComputerOption {
	return ComputerFunc(func(c *immy.Computer) {
		if c.Tasks == nil {
			c.Tasks = map[string]bool{}
		}
		c.Tasks[task] = passed
	})
}

// Identity sets a computer's hardware identity.
func Identity(uuid, serial, manufacturer string) ComputerOption {
	return ComputerFunc(func(c *immy.Computer) {
		c.UUID, c.Serial, c.Manufacturer = uuid, serial, manufacturer
	})
}

// Group options.

// Members adds members to a group: person or computer ids.
func Members(ids ...string) GroupOption {
	return GroupFunc(func(g *immy.Group) { g.Members = append(g.Members, ids...) })
}

// Nested adds nested groups to a group.
func Nested(ids ...string) GroupOption {
	return GroupFunc(func(g *immy.Group) { g.Groups = append(g.Groups, ids...) })
}

// Software options.

// Versions adds installable versions to a software, in the order given.
func Versions(versions ...string) SoftwareOption {
	vs := make([]immy.SoftwareVersion, len(versions))
	for i, s := range versions {
		vs[i].Version = mustVersion(s)
		if vs[i].Version.IsZero() {
			panic("immytest: Versions: empty version")
		}
	}
	return SoftwareFunc(func(s *immy.Software) { s.Versions = append(s.Versions, vs...) })
}

// Detect detects a software by a display-name glob ("Google Chrome*").
func Detect(glob string) SoftwareOption {
	return SoftwareFunc(func(s *immy.Software) { s.Detection = immy.Detection{DisplayName: glob} })
}

// DetectRegex detects a software by a regular expression over display names.
func DetectRegex(re string) SoftwareOption {
	return SoftwareFunc(func(s *immy.Software) { s.Detection = immy.Detection{Regex: re} })
}

// Upgrade sets how a software is updated.
func Upgrade(strategy immy.UpgradeStrategy) SoftwareOption {
	return SoftwareFunc(func(s *immy.Software) { s.UpgradeStrategy = strategy })
}

// ConfigTask runs a task right after the software.
func ConfigTask(task string) SoftwareOption {
	return SoftwareFunc(func(s *immy.Software) { s.ConfigurationTask = task })
}

// Prereq adds a prerequisite to a software.
func Prereq(p immy.Prerequisite) SoftwareOption {
	return SoftwareFunc(func(s *immy.Software) { s.Prerequisites = append(s.Prerequisites, p) })
}

// Requires adds the prerequisite "if any of ids is not installed, install them".
func Requires(ids ...string) SoftwareOption {
	return Prereq(immy.Prerequisite{
		Condition: immy.ConditionNotInstalled, Quantifier: immy.QuantifierAnyOf, Subjects: ids,
		Then: immy.PrereqInstall, On: ids,
	})
}

// Removes adds the prerequisite "if any of ids is installed, uninstall them",
// as a new antivirus removes the old one.
func Removes(ids ...string) SoftwareOption {
	return Prereq(immy.Prerequisite{
		Condition: immy.ConditionInstalled, Quantifier: immy.QuantifierAnyOf, Subjects: ids,
		Then: immy.PrereqUninstall, On: ids,
	})
}

// ConflictsWith adds the prerequisite "if any of ids is installed, fail".
func ConflictsWith(ids ...string) SoftwareOption {
	return Prereq(immy.Prerequisite{
		Condition: immy.ConditionInstalled, Quantifier: immy.QuantifierAnyOf, Subjects: ids,
		Then: immy.PrereqFail,
	})
}

// VersionPrereq adds a prerequisite to one version of a software, which an
// earlier [Versions] option must have declared.
func VersionPrereq(version string, p immy.Prerequisite) SoftwareOption {
	v := mustVersion(version)
	return SoftwareFunc(func(s *immy.Software) {
		sv, ok := s.Version(v)
		if !ok {
			panic(fmt.Sprintf("immytest: VersionPrereq: software %q has no version %s yet", s.ID, v))
		}
		sv.Prerequisites = append(sv.Prerequisites, p)
	})
}

// Task options.

// Cloud makes a task a tenant (cloud) task, deployed with tenant targets.
func Cloud() TaskOption {
	return TaskFunc(func(t *immy.Task) { t.Category = immy.TaskTenant })
}

// Param declares a parameter of a task.
func Param(p immy.Parameter) TaskOption {
	return TaskFunc(func(t *immy.Task) { t.Parameters = append(t.Parameters, p) })
}

// OnboardingTask makes a task run only in onboarding sessions, first.
func OnboardingTask() TaskOption {
	return TaskFunc(func(t *immy.Task) { t.OnboardingOnly = true })
}

// Serially lets only one instance of a task run at a time, across all sessions.
func Serially() TaskOption {
	return TaskFunc(func(t *immy.Task) { t.ExecuteSerially = true })
}

// Deployment options.

// Desired sets a software deployment's desired state.
func Desired(state immy.DesiredState) DeploymentOption {
	return DeploymentFunc(func(d *immy.Deployment) { d.Desired = state })
}

// DesiredVersion sets a software deployment's desired state and its version,
// for this-version, newer-or-equal and older-or-equal.
func DesiredVersion(state immy.DesiredState, version string) DeploymentOption {
	v := mustVersion(version)
	return DeploymentFunc(func(d *immy.Deployment) { d.Desired, d.Version = state, v })
}

// Mode sets a task deployment's mode.
func Mode(m immy.TaskMode) DeploymentOption {
	return DeploymentFunc(func(d *immy.Deployment) { d.Mode = m })
}

// Enforce sets when a deployment takes part in a session.
func Enforce(e immy.Enforcement) DeploymentOption {
	return DeploymentFunc(func(d *immy.Deployment) { d.Enforcement = e })
}

// Priority sets a deployment's explicit priority (higher wins).
func Priority(p int) DeploymentOption {
	return DeploymentFunc(func(d *immy.Deployment) { d.Priority = p })
}

// Recommended marks a deployment as the global catalogue's recommendation.
func Recommended() DeploymentOption {
	return DeploymentFunc(func(d *immy.Deployment) { d.Recommended = true })
}

// Disabled disables a deployment.
func Disabled() DeploymentOption {
	return DeploymentFunc(func(d *immy.Deployment) { d.Disabled = true })
}

// Value sets a task deployment's parameter value.
func Value(name string, v any) DeploymentOption {
	return DeploymentFunc(func(d *immy.Deployment) {
		if d.Parameters == nil {
			d.Parameters = map[string]any{}
		}
		d.Parameters[name] = v
	})
}

// ApprovedFor approves an optional deployment for computers.
func ApprovedFor(computers ...string) DeploymentOption {
	return DeploymentFunc(func(d *immy.Deployment) { d.ApprovedFor = append(d.ApprovedFor, computers...) })
}

// InTenant makes a deployment's target single-tenant.
func InTenant(tenant string) DeploymentOption {
	return DeploymentFunc(func(d *immy.Deployment) { d.Target.Tenant = tenant })
}

// Propagate extends a tenant target to the tenant's descendants.
func Propagate() DeploymentOption {
	return DeploymentFunc(func(d *immy.Deployment) { d.Target.PropagateToChildren = true })
}

// Filter sets the group filter of a deployment's target.
func Filter(gf immy.GroupFilter) DeploymentOption {
	return DeploymentFunc(func(d *immy.Deployment) { d.Target.Filter = gf })
}

// Targets.

// OnAllComputers targets every computer of every tenant (cross tenant).
func OnAllComputers() immy.Target { return immy.Target{Type: immy.TargetAllComputers} }

// OnTenantComputers targets every computer of one tenant.
func OnTenantComputers(tenant string) immy.Target {
	return immy.Target{Type: immy.TargetAllComputers, Tenant: tenant}
}

// OnComputer targets one computer.
func OnComputer(id string) immy.Target {
	return immy.Target{Type: immy.TargetComputer, Computer: id}
}

// OnPerson targets one person's computers, through affinity.
func OnPerson(id string) immy.Target {
	return immy.Target{Type: immy.TargetPerson, Person: id}
}

// OnTag targets the computers with a tag (or whose tenant, or primary person, has it).
func OnTag(tag string) immy.Target { return immy.Target{Type: immy.TargetTag, Tag: tag} }

// OnGroup targets a static computer group or a user group.
func OnGroup(id string) immy.Target { return immy.Target{Type: immy.TargetGroup, Group: id} }

// OnExpr targets the computers an expr filter selects.
func OnExpr(src string) immy.Target { return immy.Target{Type: immy.TargetFilter, Expr: src} }

// OnLua targets the computers a Lua filter selects.
func OnLua(src string) immy.Target { return immy.Target{Type: immy.TargetFilter, Lua: src} }

// OnClientGroup targets the tenants with an active agreement for a client group.
func OnClientGroup(id string) immy.Target {
	return immy.Target{Type: immy.TargetClientGroup, ClientGroup: id}
}

// OnDeviceGroup targets an integration's device group.
func OnDeviceGroup(id string) immy.Target {
	return immy.Target{Type: immy.TargetDeviceGroup, DeviceGroup: id}
}

// OnAllTenants targets every tenant, for tenant (cloud) tasks.
func OnAllTenants() immy.Target {
	return immy.Target{Category: immy.CategoryTenant, Type: immy.TargetAllTenants}
}

// OnTenant targets one tenant, for tenant (cloud) tasks.
func OnTenant(id string) immy.Target {
	return immy.Target{Category: immy.CategoryTenant, Type: immy.TargetTenant, Tenant: id}
}

// OnTenantTag targets the tenants with a tag, for tenant (cloud) tasks.
func OnTenantTag(tag string) immy.Target {
	return immy.Target{Category: immy.CategoryTenant, Type: immy.TargetTenantTag, Tag: tag}
}
