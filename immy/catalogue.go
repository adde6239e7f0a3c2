package immy

// Software is a maintenance item installed on computers: how to detect it, its
// versions, how to install, update, repair and remove it, and its prerequisites.
type Software struct {
	ID     string
	Name   string
	Origin Origin
	// Tenant, when set, makes an own item private to that tenant: no other tenant's
	// deployment may use it. Global items have no owner.
	Tenant            string
	Detection         Detection
	Versions          []SoftwareVersion
	UpgradeStrategy   UpgradeStrategy
	RepairStrategy    RepairStrategy
	Install           *Script // software-level scripts; a version's own override them
	Uninstall         *Script
	Upgrade           *Script
	Repair            *Script
	Test              *Script // returns false when a present software needs a repair
	Prerequisites     []Prerequisite
	ConfigurationTask string // task id run right after the software
	Order             Order
	// Dynamic, when set, gives the software versions found at run time (a
	// vendor's latest releases) beside Versions; see package session/dynamic.
	Dynamic *DynamicSource
}

// DynamicSource is where a software's dynamic versions come from: a
// metascript (Lua on the server that returns them) or an integration's
// dynamic-versions capability. Each version carries its installer.
type DynamicSource struct {
	Script      *Script // a metascript returning {version=, url=, sha256=, file_name=} tables
	Integration string  // or an integration instance id, asked for Name
	Name        string  // the software as the integration names it; "" is the software's id
}

// Installer is a version's installer file: where the computer downloads it
// and its SHA-256, checked before it runs.
type Installer struct {
	URL      string
	SHA256   string // hex, lower case
	FileName string // "" is the URL's last element
}

// Latest returns the highest version of the software, or the zero Version.
func (s *Software) Latest() Version {
	var best Version
	for _, v := range s.Versions {
		if best.IsZero() || best.Less(v.Version) {
			best = v.Version
		}
	}
	return best
}

// Version returns the software's version equal to v, if it has one.
func (s *Software) Version(v Version) (*SoftwareVersion, bool) {
	for i := range s.Versions {
		if s.Versions[i].Version.Equal(v) {
			return &s.Versions[i], true
		}
	}
	return nil, false
}

// Detection tells how to find a software in a computer's inventory. The first
// set field is used: DisplayName or DisplayNames (globs), Regex (with an
// optional named group "version" or first capture group for the version),
// ProductCode, UpgradeCode, then Script (whose last word of output is the
// version).
//
// Publishers, Versions and VersionMap narrow and read what the name or code
// matched: an entry whose publisher is known and matches none of Publishers, or
// whose version is known and does not meet Versions, is another software (Git
// LFS is not Git; Corretto 21 is not Corretto 17). VersionMap turns the version
// an inventory reports into the release version the catalogue lists, before
// Versions is checked and before it is compared with the catalogue's versions.
type Detection struct {
	DisplayName  string
	DisplayNames []string // more display-name globs: any of them matches
	Regex        string
	ProductCode  string
	UpgradeCode  string
	Script       *Script
	Publishers   []string // publisher globs (fleet file: publisher), any of them
	Versions     string   // a version constraint (see ParseConstraint)
	VersionMap   []VersionMapping
}

// VersionMapping maps a detected version to a release version: when Match (a
// Go regular expression, matched against the detected version's text anywhere
// unless anchored) matches, the release version is To with ${name} and ${1}
// replaced by Match's groups (regexp.Regexp.Expand), read as an inventory
// version (text that is no version gives an unknown version). Python's registry says 3.13.4150.0 for release 3.13.4:
// Match `^(?P<maj>\d+)\.(?P<min>\d+)\.(?P<micro>\d+)\d{3}\.0$`, To
// "${maj}.${min}.${micro}". The first mapping that matches applies.
type VersionMapping struct {
	Match string
	To    string
}

// SoftwareVersion is one installable version of a software.
type SoftwareVersion struct {
	Version         Version
	UpgradeStrategy UpgradeStrategy // overrides the software's when set
	Install         *Script         // override the software-level scripts when set
	Uninstall       *Script
	Upgrade         *Script
	// Prerequisites of this version only, such as a version of another software.
	Prerequisites []Prerequisite
	// Installer, when set, is downloaded on the computer and its SHA-256
	// checked before the install script runs (which finds it at the
	// parameter installer_path); dynamic versions always have one.
	Installer *Installer
}

// Prerequisite reads: if Quantifier (any of / all of) Subjects are Condition
// (installed / not installed), then Then (install / uninstall / fail) On.
type Prerequisite struct {
	Condition  Condition
	Quantifier Quantifier
	Subjects   []string // software ids
	Then       PrereqAction
	On         []string // software ids acted on; empty for fail
	Version    Version  // with install: the version of On to install; zero for its latest
}

// Order places an item's actions in a session.
type Order struct {
	Location OrderLocation
	Position int // within beginning or end, lower first
}

// Task is a maintenance item that runs scripts: enforce (test, set, test),
// audit (test), monitor (get).
type Task struct {
	ID              string
	Name            string
	Origin          Origin
	Tenant          string // private owner, as for Software
	Category        TaskCategory
	OnboardingOnly  bool // runs only in onboarding sessions, first
	ExecuteSerially bool // one running instance across all sessions at a time
	Parameters      []Parameter
	// Script is one script told its method (get, set or test); otherwise Get,
	// Set and Test are separate scripts.
	Script         *Script
	Get, Set, Test *Script
	Order          Order
}

// Parameter declares one typed parameter of a task.
type Parameter struct {
	Name     string
	Type     ParamType
	Required bool
	Default  any      // string, float64, bool, or map[string]string for key-value
	Options  []string // the choices of a select
}

// Script is code run on a computer or on the server.
type Script struct {
	Language ScriptLanguage
	Context  ScriptContext
	Body     string
}
