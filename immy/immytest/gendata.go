package immytest

import "github.com/immyoss/engine/immy"

// The word lists the generator draws from. They are small on purpose: a
// generated fleet should read like an MSP's, not be varied for its own sake.

var genCompanies = []string{
	"Contoso", "Northwind", "Fabrikam", "Litware", "Tailspin", "Wingtip", "Proseware",
	"Woodgrove", "Adatum", "Alpine Ski House", "Blue Yonder", "Coho Winery", "Fourth Coffee",
	"Graphic Design Institute", "Humongous Insurance", "Lamna Healthcare", "Lucerne Publishing",
	"Margie's Travel", "Nod Publishers", "Relecloud", "School of Fine Art", "Southridge Video",
	"Trey Research", "Wide World Importers", "VanArsdel", "Bellows College", "Best For You Organics",
	"Consolidated Messenger", "First Up Consultants", "Liberty's Delightful Sinful Bakery",
}

var genCompanySuffixes = []string{"", "", " Ltd", " Inc", " LLP", " Group", " Dental", " Law", " Clinic", " Logistics"}

var genBranches = []string{"East", "West", "North", "South", "Clinic", "Warehouse", "Retail", "Labs"}

var genTimeZones = []string{
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
	"Europe/London", "Europe/Amsterdam", "Europe/Berlin", "Australia/Sydney",
}

var genFirstNames = []string{
	"anna", "ben", "carla", "david", "emma", "felix", "grace", "henry", "isla", "jack",
	"karen", "liam", "maria", "noah", "olivia", "peter", "quinn", "rosa", "sam", "tara",
	"umar", "vera", "will", "xena", "yusuf", "zoe", "amir", "beth", "chen", "dana",
	"elena", "farid", "gina", "hugo", "ivan", "julia", "kofi", "lena", "marco", "nina",
}

var genLastNames = []string{
	"smith", "jones", "garcia", "miller", "davis", "martin", "lopez", "wilson", "anderson", "thomas",
	"taylor", "moore", "jackson", "lee", "perez", "white", "harris", "clark", "lewis", "walker",
	"young", "allen", "king", "wright", "scott", "green", "baker", "adams", "nelson", "hill",
	"kim", "patel", "nguyen", "muller", "rossi", "dubois", "novak", "silva", "sato", "okafor",
}

type genOS struct {
	name   string
	weight int
}

var genDesktopOS = []genOS{
	{"Windows 11 Pro", 42}, {"Windows 10 Pro", 28}, {"Windows 11 Enterprise", 10},
	{"Windows 10 Enterprise", 7}, {"Windows 11 Home", 3}, {"Windows 10 Pro for Workstations", 2},
	{"macOS 14 Sonoma", 4}, {"macOS 15 Sequoia", 2}, {"Ubuntu 22.04 LTS", 2},
}

var genServerOS = []genOS{
	{"Windows Server 2022 Standard", 45}, {"Windows Server 2019 Standard", 25},
	{"Windows Server 2016 Standard", 12}, {"Windows Server 2022 Datacenter", 8},
	{"Windows Server 2025 Standard", 6}, {"Ubuntu 24.04 LTS", 4},
}

type genHardware struct {
	manufacturer string
	models       []string
}

var genDesktopHardware = []genHardware{
	{"Dell Inc.", []string{"OptiPlex 7010", "OptiPlex 5000", "Precision 3660"}},
	{"HP", []string{"HP EliteDesk 800 G6", "HP ProDesk 400 G7"}},
	{"LENOVO", []string{"ThinkCentre M70q", "ThinkCentre M90t"}},
}

var genPortableHardware = []genHardware{
	{"Dell Inc.", []string{"Latitude 5440", "Latitude 7430", "XPS 13 9315"}},
	{"HP", []string{"HP EliteBook 840 G9", "HP ProBook 450 G10"}},
	{"LENOVO", []string{"ThinkPad T14 Gen 4", "ThinkPad X1 Carbon Gen 11"}},
	{"Microsoft Corporation", []string{"Surface Laptop 5", "Surface Pro 9"}},
	{"Apple Inc.", []string{"MacBook Air (M2)", "MacBook Pro (14-inch, M3)"}},
}

var genServerHardware = []genHardware{
	{"VMware, Inc.", []string{"VMware7,1", "VMware20,1"}},
	{"Microsoft Corporation", []string{"Virtual Machine"}},
	{"Dell Inc.", []string{"PowerEdge R650", "PowerEdge T350"}},
	{"HPE", []string{"ProLiant DL360 Gen10"}},
}

var genSites = []struct {
	name   string
	weight int
}{{"hq", 55}, {"branch", 30}, {"remote", 12}, {"datacenter", 3}}

var genDepartments = []string{"finance", "sales", "engineering", "operations", "hr", "support"}

// Tags: of computers, tenants and persons, with their chance in percent.
var (
	genComputerTags = []struct {
		tag string
		pct int
	}{{"canary", 5}, {"finance", 4}, {"kiosk", 2}, {"lab", 2}, {"byod", 1}}
	genTenantTags = []struct {
		tag string
		pct int
	}{{"vip", 10}, {"healthcare", 8}, {"legal", 6}, {"pilot", 5}}
	genPersonTags = []struct {
		tag string
		pct int
	}{{"remote", 20}, {"vip", 4}, {"executive", 2}}
)

var genClientGroups = []string{"managed-security", "managed-backup", "m365-premium", "co-managed-it", "voip", "compliance-pack"}

var genDeviceGroups = []string{"rmm-servers", "rmm-workstations", "rmm-laptops", "patch-ring-1", "patch-ring-2"}

var genIntegrations = []string{"ninjaone-1", "datto-rmm-1", "connectwise-automate-1"}

var genNoiseSoftware = []string{
	"Microsoft Update Health Tools", "Windows PC Health Check", "Intel(R) Management Engine Components",
	"Realtek High Definition Audio Driver", "Microsoft Edge", "Microsoft OneDrive", "Windows SDK AddOn",
}

var genUserGroupNames = []string{"Sales", "Finance", "Engineering", "Executives", "Remote workers", "Front desk", "HR", "Support"}

var genComputerGroupNames = []string{"Servers - patch ring 1", "Kiosks", "Lab machines", "Pilot ring", "Reception PCs", "Laptops - field staff"}

// A version style: how many numeric segments, how wide the second is written
// (Adobe's 23.006.20320), and the range of each segment's first value and step.
type genVersionStyle struct {
	segs  int
	width int // zero-padded width of segment 2; 0 for none
	base  [4][2]int
	step  [4]int
}

var (
	styleChrome = genVersionStyle{segs: 4, base: [4][2]int{{100, 130}, {0, 1}, {5000, 6800}, {10, 200}}, step: [4]int{1, 0, 120, 40}}
	styleOffice = genVersionStyle{segs: 4, base: [4][2]int{{16, 17}, {0, 1}, {16000, 18000}, {20000, 20300}}, step: [4]int{0, 0, 300, 50}}
	styleAdobe  = genVersionStyle{segs: 3, width: 3, base: [4][2]int{{21, 24}, {1, 8}, {20000, 21000}}, step: [4]int{1, 2, 200}}
	styleRedist = genVersionStyle{segs: 4, base: [4][2]int{{14, 15}, {29, 38}, {30000, 33800}, {0, 1}}, step: [4]int{0, 2, 500, 0}}
	styleSemver = genVersionStyle{segs: 3, base: [4][2]int{{1, 9}, {0, 12}, {0, 20}}, step: [4]int{1, 3, 4}}
	styleTwo    = genVersionStyle{segs: 2, base: [4][2]int{{3, 24}, {0, 30}}, step: [4]int{1, 5}}
	styleYear   = genVersionStyle{segs: 3, base: [4][2]int{{2021, 2025}, {1, 12}, {1, 4}}, step: [4]int{1, 3, 2}}

	genSyntheticStyles = []genVersionStyle{styleSemver, styleSemver, styleTwo, styleYear, styleChrome, styleAdobe}
)

// A software of the catalogue as MSPs meet it: the display name the inventory
// shows, how the catalogue detects it, its version style and how common it is
// (percent of computers). The first ones are runtimes that many others need.
type genSoftware struct {
	id, name  string
	detected  string // display name in inventories; name when ""
	glob      string // detection glob; the detected name when "" and regex is ""
	regex     string
	style     genVersionStyle
	pct       int
	runtime   bool
	upgradeID string // detection by upgrade code when set
}

var genCatalogue = []genSoftware{
	{id: "vcredist", name: "Microsoft Visual C++ Redistributable", detected: "Microsoft Visual C++ 2015-2022 Redistributable (x64)", regex: `^Microsoft Visual C\+\+ 2015-2022 Redistributable \(x64\)`, style: styleRedist, pct: 70, runtime: true},
	{id: "webview2", name: "Microsoft Edge WebView2 Runtime", style: styleChrome, pct: 75, runtime: true},
	{id: "dotnet-desktop-8", name: ".NET Desktop Runtime 8", detected: "Microsoft Windows Desktop Runtime - 8 (x64)", glob: "Microsoft Windows Desktop Runtime - 8*", style: styleSemver, pct: 40, runtime: true},
	{id: "java-8", name: "Java 8", detected: "Java 8 Update 431 (64-bit)", glob: "Java 8 Update*", style: styleSemver, pct: 12, runtime: true},
	{id: "odbc-18", name: "Microsoft ODBC Driver 18 for SQL Server", style: styleYear, pct: 6, runtime: true, upgradeID: "{A4C7F1D2-3B5E-4F60-9A1B-2C3D4E5F6071}"},
	{id: "google-chrome", name: "Google Chrome", style: styleChrome, pct: 80},
	{id: "firefox", name: "Mozilla Firefox", detected: "Mozilla Firefox (x64 en-US)", glob: "Mozilla Firefox*", style: styleSemver, pct: 25},
	{id: "7zip", name: "7-Zip", detected: "7-Zip 24.08 (x64)", glob: "7-Zip*", style: styleTwo, pct: 45},
	{id: "adobe-reader", name: "Adobe Acrobat Reader DC", detected: "Adobe Acrobat Reader DC", glob: "Adobe Acrobat Reader*", style: styleAdobe, pct: 55},
	{id: "m365-apps", name: "Microsoft 365 Apps for business", detected: "Microsoft 365 Apps for business - en-us", glob: "Microsoft 365 Apps*", style: styleOffice, pct: 60},
	{id: "teams", name: "Microsoft Teams", style: styleChrome, pct: 55},
	{id: "zoom", name: "Zoom Workplace", detected: "Zoom Workplace (64-bit)", glob: "Zoom Workplace*", style: styleSemver, pct: 30},
	{id: "slack", name: "Slack", style: styleSemver, pct: 10},
	{id: "notepad-plus-plus", name: "Notepad++", detected: "Notepad++ (64-bit x64)", glob: "Notepad++*", style: styleSemver, pct: 20},
	{id: "vlc", name: "VLC media player", style: styleSemver, pct: 15},
	{id: "cisco-secure-client", name: "Cisco Secure Client", detected: "Cisco Secure Client - AnyConnect VPN", glob: "Cisco Secure Client*", style: styleSemver, pct: 8},
	{id: "forticlient", name: "FortiClient VPN", style: styleChrome, pct: 8},
	{id: "citrix-workspace", name: "Citrix Workspace", detected: "Citrix Workspace 2409", glob: "Citrix Workspace*", style: styleYear, pct: 6},
	{id: "teamviewer", name: "TeamViewer", style: styleSemver, pct: 12},
	{id: "anydesk", name: "AnyDesk", style: styleSemver, pct: 5},
	{id: "dropbox", name: "Dropbox", style: styleSemver, pct: 6},
	{id: "webex", name: "Webex", style: styleChrome, pct: 5},
	{id: "vscode", name: "Visual Studio Code", detected: "Microsoft Visual Studio Code", style: styleSemver, pct: 7},
	{id: "git", name: "Git", style: styleSemver, pct: 6},
	{id: "putty", name: "PuTTY", detected: "PuTTY release 0.81 (64-bit)", glob: "PuTTY release*", style: styleTwo, pct: 4},
	{id: "winscp", name: "WinSCP", style: styleSemver, pct: 4},
	{id: "keepass", name: "KeePass Password Safe", detected: "KeePass Password Safe 2.57", glob: "KeePass Password Safe*", style: styleTwo, pct: 5},
	{id: "greenshot", name: "Greenshot", style: styleSemver, pct: 5},
	{id: "paint-net", name: "paint.net", style: styleSemver, pct: 4},
	{id: "foxit-reader", name: "Foxit PDF Reader", style: styleYear, pct: 6},
	{id: "libreoffice", name: "LibreOffice", style: styleYear, pct: 3},
	{id: "wireshark", name: "Wireshark", detected: "Wireshark 4.4.1 x64", glob: "Wireshark*", style: styleSemver, pct: 2},
	{id: "ssms", name: "SQL Server Management Studio", style: styleYear, pct: 3},
	{id: "power-bi", name: "Microsoft Power BI Desktop", detected: "Microsoft PowerBI Desktop (x64)", glob: "Microsoft PowerBI Desktop*", style: styleOffice, pct: 3},
	{id: "dell-command-update", name: "Dell Command | Update", detected: "Dell Command | Update for Windows Universal", glob: "Dell Command | Update*", style: styleSemver, pct: 25},
	{id: "hp-support-assistant", name: "HP Support Assistant", style: styleSemver, pct: 10},
	{id: "lenovo-system-update", name: "Lenovo System Update", style: styleSemver, pct: 8},
	{id: "sophos-endpoint", name: "Sophos Endpoint Agent", style: styleYear, pct: 20, upgradeID: "{1B9D2E3F-4A5B-4C6D-8E7F-90A1B2C3D4E5}"},
	{id: "sentinelone", name: "Sentinel Agent", style: styleChrome, pct: 15},
	{id: "huntress", name: "Huntress Agent", style: styleSemver, pct: 25},
	{id: "webroot", name: "Webroot SecureAnywhere", style: styleSemver, pct: 8},
	{id: "bitdefender-est", name: "Bitdefender Endpoint Security Tools", style: styleChrome, pct: 10},
	{id: "veeam-agent", name: "Veeam Agent for Microsoft Windows", style: styleChrome, pct: 6},
	{id: "screenconnect", name: "ScreenConnect Client", detected: "ScreenConnect Client (5d1c2f3e4a5b6c7d)", glob: "ScreenConnect Client*", style: styleChrome, pct: 35},
	{id: "3cx", name: "3CX Desktop App", style: styleSemver, pct: 4},
	{id: "python-312", name: "Python 3.12", detected: "Python 3.12.7 (64-bit)", glob: "Python 3.12*", style: styleSemver, pct: 3},
	{id: "nodejs", name: "Node.js", style: styleSemver, pct: 2},
	{id: "quickbooks", name: "QuickBooks Desktop", detected: "QuickBooks Desktop Pro 2024", glob: "QuickBooks Desktop*", style: styleYear, pct: 3},
}

var genVendors = []string{"Fabrikam", "Litware", "Tailspin", "Wingtip", "Proseware", "Woodgrove", "Adventure Works", "Lamna"}

var genProducts = []string{"Client", "Agent", "Connector", "Viewer", "Scanner Utility", "Sync", "Desktop", "Toolbox", "Launcher", "Practice Manager"}

// A task of the catalogue.
type genTask struct {
	id, name   string
	category   immy.TaskCategory
	onboarding bool
	serial     bool
	params     []immy.Parameter
}

var genTasks = []genTask{
	{id: "task-bitlocker", name: "BitLocker recovery keys", params: []immy.Parameter{{Name: "escrow", Type: immy.ParamBoolean, Default: true}}},
	{id: "task-local-admin", name: "Local administrator password", params: []immy.Parameter{
		{Name: "username", Type: immy.ParamText, Default: "msp-admin"},
		{Name: "password", Type: immy.ParamPassword, Required: true},
	}},
	{id: "task-rename-computer", name: "Rename computer to standard", onboarding: true, params: []immy.Parameter{{Name: "pattern", Type: immy.ParamText, Required: true}}},
	{id: "task-m365-license-report", name: "Microsoft 365 license report", category: immy.TaskTenant},
	{id: "task-time-zone", name: "Set time zone", params: []immy.Parameter{{Name: "zone", Type: immy.ParamSelect, Required: true, Options: []string{"Eastern Standard Time", "Central Standard Time", "GMT Standard Time"}}}},
	{id: "task-power-plan", name: "Power plan", params: []immy.Parameter{{Name: "plan", Type: immy.ParamSelect, Default: "balanced", Options: []string{"balanced", "high-performance"}}}},
	{id: "task-wallpaper", name: "Company wallpaper", params: []immy.Parameter{{Name: "image", Type: immy.ParamURI, Required: true}}},
	{id: "task-windows-update", name: "Windows Update settings", serial: false, params: []immy.Parameter{{Name: "settings", Type: immy.ParamKeyValue, Default: map[string]string{"AUOptions": "4"}}}},
	{id: "task-tenant-mfa-audit", name: "Tenant MFA audit", category: immy.TaskTenant, serial: true},
	{id: "task-disable-usb-storage", name: "Disable USB storage"},
	{id: "task-join-domain", name: "Join domain", onboarding: true, serial: true, params: []immy.Parameter{
		{Name: "domain", Type: immy.ParamText, Required: true},
		{Name: "join_password", Type: immy.ParamPassword, Required: true},
	}},
	{id: "task-cleanup-temp", name: "Clean temporary files", params: []immy.Parameter{{Name: "days", Type: immy.ParamNumber, Default: float64(14)}}},
}

// Filters as MSPs write them, over the fields fleet-file.md gives filters.
var genExprFilters = []string{
	`computer.os startsWith "Windows 11" and "canary" in computer.tags`,
	`computer.attributes["site"] == "hq"`,
	`computer.kind == "server" and computer.os startsWith "Windows Server 2022"`,
	`has_tag("vip")`,
	`installed("Google Chrome*") and not installed("Mozilla Firefox*")`,
	`computer.manufacturer == "Dell Inc." and computer.kind in ["workstation", "portable"]`,
	`computer.online and computer.onboarding == "onboarded"`,
	`"finance" in computer.tags or computer.attributes["department"] == "finance"`,
	`computer.os contains "Server"`,
	`computer.os startsWith "Windows 10" and computer.attributes["site"] != "remote"`,
	`len(computer.upns) == 0`,
	`"healthcare" in tenant.tags and computer.kind != "server"`,
}

var genLuaFilters = []string{
	`return computer.kind == "server"`,
	`return has_tag("canary") and computer.online`,
	`return computer.attributes.site == "branch"`,
	`return installed("Adobe Acrobat Reader*")`,
}
