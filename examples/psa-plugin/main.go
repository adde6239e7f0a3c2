// Command psa-plugin is an example PSA integration serving clients, client
// groups (agreement types and products) with dated agreements, and tickets
// from a JSON file, which it reads again whenever the file changes.
//
// The engine starts it as a plugin:
//
//	spec := plugins.Spec{ID: "psa", Path: "psa-plugin", SHA256: sum,
//		Config: map[string]string{"file": "psa.json"}}
//
// The file (see testdata/psa.json):
//
//	{
//	  "clients": [{"id": "C-100", "name": "Contoso"}],
//	  "client_groups": [{"id": "managed-security", "name": "Managed security",
//	    "kind": "agreement-type",
//	    "agreements": [{"id": "AG-1", "client": "C-100", "from": "2026-01-01", "to": "2026-12-31"}]}],
//	  "tickets": [{"id": "T-1001", "subject": "Reader crashes", "client": "C-100",
//	    "person": {"upn": "john@contoso.com", "name": "John"}, "computer": "CONTOSO-LT-01"}]
//	}
//
// kind is "agreement-type" or "product"; dates are whole days, both inclusive,
// and may be left out for an open bound. A ticket's computer is the name of a
// configuration item. A file with problems is refused as a whole, with every
// problem named by its place in the file.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins/sdk"
)

func main() {
	sdk.Serve(&psa{})
}

// data is the file's content.
type data struct {
	Clients      []client      `json:"clients"`
	ClientGroups []clientGroup `json:"client_groups"`
	Tickets      []ticket      `json:"tickets"`
}

type client struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type clientGroup struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Kind       string      `json:"kind"`
	Agreements []agreement `json:"agreements"`
}

type agreement struct {
	ID     string    `json:"id"`
	Client string    `json:"client"`
	From   immy.Date `json:"from"`
	To     immy.Date `json:"to"`
}

type ticket struct {
	ID       string  `json:"id"`
	Subject  string  `json:"subject"`
	Client   string  `json:"client"`
	Person   *person `json:"person"`
	Computer string  `json:"computer"`
}

type person struct {
	UPN   string `json:"upn"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// load reads and checks a PSA file; every problem is reported at once.
func load(path string) (*data, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("psa-plugin: %w", err)
	}
	return parse(path, b)
}

func parse(name string, b []byte) (*data, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d data
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("psa-plugin: %s: %s: %w", name, describeJSONError(b, err), sdk.ErrInvalid)
	}
	if dec.More() {
		return nil, fmt.Errorf("psa-plugin: %s: content after the document: %w", name, sdk.ErrInvalid)
	}
	if problems := d.check(); len(problems) > 0 {
		return nil, fmt.Errorf("psa-plugin: %s: %d problem(s):\n\t%s: %w", name, len(problems), strings.Join(problems, "\n\t"), sdk.ErrInvalid)
	}
	return &d, nil
}

// describeJSONError locates a decoding error by line and column.
func describeJSONError(b []byte, err error) string {
	var offset int64 = -1
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		offset = syn.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	}
	if offset < 0 || offset > int64(len(b)) {
		return err.Error()
	}
	line := 1 + bytes.Count(b[:offset], []byte("\n"))
	col := int(offset) - bytes.LastIndexByte(b[:offset], '\n')
	return fmt.Sprintf("line %d, column %d: %v", line, col, err)
}

func (d *data) check() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	clients := map[string]bool{}
	for i, c := range d.Clients {
		switch {
		case c.ID == "":
			add("clients[%d].id: is empty", i)
		case clients[c.ID]:
			add("clients[%d].id: %q is listed twice", i, c.ID)
		}
		clients[c.ID] = true
	}
	groups := map[string]bool{}
	agreements := map[string]bool{}
	for i, g := range d.ClientGroups {
		at := fmt.Sprintf("client_groups[%d]", i)
		switch {
		case g.ID == "":
			add("%s.id: is empty", at)
		case groups[g.ID]:
			add("%s.id: %q is listed twice", at, g.ID)
		}
		groups[g.ID] = true
		if g.Kind != "agreement-type" && g.Kind != "product" {
			add("%s.kind: %q is neither agreement-type nor product", at, g.Kind)
		}
		for j, a := range g.Agreements {
			at := fmt.Sprintf("%s.agreements[%d]", at, j)
			switch {
			case a.ID == "":
				add("%s.id: is empty", at)
			case agreements[a.ID]:
				add("%s.id: %q is listed twice", at, a.ID)
			}
			agreements[a.ID] = true
			if !clients[a.Client] {
				add("%s.client: %q is not a client", at, a.Client)
			}
			if !a.From.IsZero() && !a.To.IsZero() && a.To.Before(a.From) {
				add("%s: ends %s, before it starts %s", at, a.To, a.From)
			}
		}
	}
	tickets := map[string]bool{}
	for i, t := range d.Tickets {
		at := fmt.Sprintf("tickets[%d]", i)
		switch {
		case t.ID == "":
			add("%s.id: is empty", at)
		case tickets[t.ID]:
			add("%s.id: %q is listed twice", at, t.ID)
		}
		tickets[t.ID] = true
		if !clients[t.Client] {
			add("%s.client: %q is not a client", at, t.Client)
		}
		if t.Person != nil && t.Person.UPN == "" && t.Person.Email == "" {
			add("%s.person: has neither upn nor email", at)
		}
	}
	return p
}

// psa is the integration.
type psa struct {
	path string
	host *sdk.Host

	mu      sync.Mutex
	data    *data
	modTime time.Time
	loadErr error
}

func (p *psa) Info() sdk.Info {
	return sdk.Info{
		Name: "file-psa", Version: "1.0.0",
		Description: "a PSA serving clients, agreements and tickets from a JSON file",
		ConfigFields: []sdk.ConfigField{
			{Key: "file", Description: "the JSON file of clients, client groups and tickets", Required: true},
		},
	}
}

func (p *psa) Configure(_ context.Context, cfg sdk.Config, host *sdk.Host) error {
	p.path, p.host = cfg.Get("file"), host
	st, err := os.Stat(p.path)
	if err != nil {
		return fmt.Errorf("psa-plugin: file: %w: %w", err, sdk.ErrInvalid)
	}
	d, err := load(p.path)
	if err != nil {
		return err
	}
	p.data, p.modTime = d, st.ModTime()
	host.Logger().Info("PSA file loaded", "file", p.path, "clients", len(d.Clients), "client_groups", len(d.ClientGroups), "tickets", len(d.Tickets))
	return nil
}

// current returns the data, reading the file again when it changed. A file
// that became invalid keeps the last good data, logged and shown by Health.
func (p *psa) current() *data {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, err := os.Stat(p.path)
	if err != nil || st.ModTime().Equal(p.modTime) {
		p.loadErr = err
		return p.data
	}
	d, err := load(p.path)
	if err != nil {
		if p.loadErr == nil || p.loadErr.Error() != err.Error() {
			p.host.Logger().Error("PSA file changed but is invalid; keeping the last good one", "error", err)
		}
		p.loadErr = err
		return p.data
	}
	p.data, p.modTime, p.loadErr = d, st.ModTime(), nil
	return d
}

func (p *psa) Health(context.Context) error {
	p.current()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.loadErr
}

func (p *psa) ListClients(_ context.Context, emit func(sdk.Client) error) error {
	for _, c := range p.current().Clients {
		if err := emit(sdk.Client{ID: c.ID, Name: c.Name}); err != nil {
			return err
		}
	}
	return nil
}

func (p *psa) ListClientGroups(context.Context) ([]sdk.ClientGroup, error) {
	var out []sdk.ClientGroup
	for _, g := range p.current().ClientGroups {
		cg := sdk.ClientGroup{ID: g.ID, Name: g.Name, Kind: sdk.AgreementType}
		if g.Kind == "product" {
			cg.Kind = sdk.Product
		}
		for _, a := range g.Agreements {
			cg.Agreements = append(cg.Agreements, sdk.Agreement{ID: a.ID, ClientID: a.Client, From: a.From, To: a.To})
		}
		out = append(out, cg)
	}
	return out, nil
}

func (p *psa) Ticket(_ context.Context, id string) (sdk.Ticket, error) {
	for _, t := range p.current().Tickets {
		if t.ID != id {
			continue
		}
		out := sdk.Ticket{ID: t.ID, Subject: t.Subject, ClientID: t.Client, AgentID: t.Computer}
		if t.Person != nil {
			out.Person = &sdk.Person{UPN: t.Person.UPN, Name: t.Person.Name, Email: t.Person.Email}
		}
		return out, nil
	}
	return sdk.Ticket{}, fmt.Errorf("ticket %q: %w", id, sdk.ErrNotFound)
}
