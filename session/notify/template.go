package notify

import (
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"regexp"
	texttemplate "text/template"
)

// Branding is how a tenant's notifications look: its name, its logo and its
// colours.
type Branding struct {
	Name    string // shown as the sender's name and in the text; "" uses Config.FromName
	LogoURL string // an https URL; "" shows none
	Primary string // #rrggbb: the heading bar; "" is DefaultPrimary
	Accent  string // #rrggbb: the buttons; "" is DefaultAccent
}

// Default colours.
const (
	DefaultPrimary = "#1f3a5f"
	DefaultAccent  = "#2f80ed"
)

var colour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// resolve fills the defaults and checks the branding.
func (b Branding) resolve(fallbackName string) (Branding, error) {
	if b.Name == "" {
		b.Name = fallbackName
	}
	if b.Primary == "" {
		b.Primary = DefaultPrimary
	}
	if b.Accent == "" {
		b.Accent = DefaultAccent
	}
	var errs []string
	if len(b.Name) > 200 {
		errs = append(errs, "name is longer than 200 bytes")
	}
	for field, c := range map[string]string{"primary": b.Primary, "accent": b.Accent} {
		if !colour.MatchString(c) {
			errs = append(errs, fmt.Sprintf("%s colour %q is not #rrggbb", field, clip(c)))
		}
	}
	if b.LogoURL != "" {
		u, err := url.Parse(b.LogoURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || len(b.LogoURL) > 2048 {
			errs = append(errs, fmt.Sprintf("logo URL %q is not an https URL", clip(b.LogoURL)))
		}
	}
	if len(errs) > 0 {
		return b, fmt.Errorf("notify: branding: %s", joinSorted(errs))
	}
	return b, nil
}

// view is what the templates see.
type view struct {
	Brand       Branding
	Person      string
	Computer    string
	Before      bool
	Lines       []line
	Status      string
	Reboot      string
	PostponeURL string
	DeclineURL  string
	PostponeFor string
	LinksExpire string
}

type line struct {
	What   string // "Install Acme Notes 3.1"
	Result string // after: "success", "failed: script-failed"
}

const textBody = `{{if .Person}}Hello {{.Person}},{{else}}Hello,{{end}}
{{if .Before}}
{{.Brand.Name}} is about to maintain your computer {{.Computer}}:
{{range .Lines}}
  - {{.What}}{{end}}
{{if .PostponeURL}}
To postpone this by {{.PostponeFor}}, open:
{{.PostponeURL}}
{{end}}{{if .DeclineURL}}
To decline it, open:
{{.DeclineURL}}
{{end}}{{if .LinksExpire}}
These links work until {{.LinksExpire}}.
{{end}}{{else}}
{{.Brand.Name}} finished maintaining your computer {{.Computer}}: {{.Status}}.
{{range .Lines}}
  - {{.What}}: {{.Result}}{{end}}
{{if .Reboot}}
Reboot: {{.Reboot}}
{{end}}{{end}}
-- 
{{.Brand.Name}}
`

const htmlBody = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Brand.Name}}</title></head>
<body style="margin:0;font-family:Segoe UI,Helvetica,Arial,sans-serif;color:#222">
<div style="background:{{.Brand.Primary}};color:#fff;padding:16px 24px">
{{if .Brand.LogoURL}}<img src="{{.Brand.LogoURL}}" alt="{{.Brand.Name}}" style="max-height:40px;vertical-align:middle;margin-right:12px">{{end}}<strong>{{.Brand.Name}}</strong>
</div>
<div style="padding:16px 24px">
<p>{{if .Person}}Hello {{.Person}},{{else}}Hello,{{end}}</p>
{{if .Before}}<p>{{.Brand.Name}} is about to maintain your computer <strong>{{.Computer}}</strong>:</p>
<ul>{{range .Lines}}<li>{{.What}}</li>{{end}}</ul>
<p>{{if .PostponeURL}}<a href="{{.PostponeURL}}" style="background:{{.Brand.Accent}};color:#fff;padding:8px 16px;border-radius:4px;text-decoration:none">Postpone by {{.PostponeFor}}</a> {{end}}{{if .DeclineURL}}<a href="{{.DeclineURL}}" style="border:1px solid {{.Brand.Accent}};color:{{.Brand.Accent}};padding:8px 16px;border-radius:4px;text-decoration:none">Decline</a>{{end}}</p>
{{if .LinksExpire}}<p style="color:#666;font-size:small">These links work until {{.LinksExpire}}.</p>{{end}}
{{else}}<p>{{.Brand.Name}} finished maintaining your computer <strong>{{.Computer}}</strong>: {{.Status}}.</p>
<ul>{{range .Lines}}<li>{{.What}}: {{.Result}}</li>{{end}}</ul>
{{if .Reboot}}<p>Reboot: {{.Reboot}}</p>{{end}}{{end}}
</div>
</body></html>
`

var (
	textTmpl = texttemplate.Must(texttemplate.New("text").Parse(textBody))
	htmlTmpl = htmltemplate.Must(htmltemplate.New("html").Parse(htmlBody))
)
