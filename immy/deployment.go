package immy

// Deployment gives a maintenance item a desired state (software) or a mode (task)
// on a target.
type Deployment struct {
	ID          string
	Item        string // software or task id
	Target      Target
	Desired     DesiredState // software
	Version     Version      // with this-version, newer-or-equal, older-or-equal
	Mode        TaskMode     // task
	Enforcement Enforcement
	Priority    int  // higher wins, after scope, type, group filter and tenant distance
	Recommended bool // from the global catalogue's recommendations rather than the MSP
	// Disabled deployments take no part in any decision. The zero value is
	// enabled, as a fleet file's deployment without `enabled: false` is.
	Disabled   bool
	Parameters map[string]any // task parameter values by name
	// ApprovedFor lists the computers an optional deployment is approved for.
	ApprovedFor []string
	Visibility  Visibility
}

// Visibility tells where a deployment is offered in technician tools.
type Visibility struct {
	Ticket, Tenant, Person, Computer bool
}

// Target selects computers (or tenants, or persons). Tenant set makes it single
// tenant; a computer or person target is individual.
type Target struct {
	Category            TargetCategory
	Type                TargetType
	Tenant              string
	Filter              GroupFilter
	PropagateToChildren bool
	Computer            string // TargetComputer
	Person              string // TargetPerson
	Tag                 string // TargetTag, TargetTenantTag
	Group               string // TargetGroup
	Expr                string // TargetFilter in expr
	Lua                 string // TargetFilter in Lua
	ClientGroup         string // TargetClientGroup
	DeviceGroup         string // TargetDeviceGroup
}

// Scope derives the target's scope: individual for a computer or person, single
// tenant when Tenant is set, else cross tenant.
func (t Target) Scope() TargetScope {
	switch {
	case t.Type == TargetComputer || t.Type == TargetPerson:
		return ScopeIndividual
	case t.Tenant != "" || t.Type == TargetTenant:
		return ScopeSingleTenant
	}
	return ScopeCrossTenant
}

// Schedule starts maintenance sessions on a cron in a time zone.
type Schedule struct {
	ID       string
	Cron     string // five-field cron expression
	TimeZone string // IANA name; "" uses each computer's own
	// ExecuteAfter is how long after detection execution starts; zero with
	// ExecuteRightAfterDetection runs both together.
	ExecuteAfterMinutes        int
	ExecuteRightAfterDetection bool
	Item                       string // "" for full maintenance
	Target                     Target
	JitterMinutes              int
	// Disabled schedules start nothing. The zero value is enabled, as a
	// fleet file's schedule without `enabled: false` is.
	Disabled bool
}
