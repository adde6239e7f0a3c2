package fleetstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/immyoss/engine/immy"
)

// Entity is one entity of a fleet in the store's JSON form: what an API
// built on the store shows and reads back.
type Entity struct {
	Kind   Kind
	ID     string
	Tenant string // as the audit log's Entry.Tenant
	// JSON is the entity's stored form, with secrets Redacted as in the
	// audit log. A computer's inventory is not in it.
	JSON json.RawMessage
}

// Entities returns the entities of kind k in f, in f's order, in the
// store's JSON form with secrets redacted. The settings are not an entity
// kind here.
func Entities(f *immy.Fleet, k Kind) ([]Entity, error) {
	sec, ok := sectionOf[k]
	if !ok || k == KindSettings {
		return nil, fmt.Errorf("fleetstore: unknown entity kind %q: %w", k, immy.ErrInvalid)
	}
	ids := sec.ids(f)
	out := make([]Entity, 0, len(ids))
	for i, id := range ids {
		doc, tenant := sec.doc(f, i)
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("fleetstore: %s %q: %w", k, id, err)
		}
		red, err := redact(k, b, f, f)
		if err != nil {
			return nil, fmt.Errorf("fleetstore: %s %q: %w", k, id, err)
		}
		out = append(out, Entity{Kind: k, ID: id, Tenant: tenant, JSON: json.RawMessage(red.(string))})
	}
	return out, nil
}

// DecodeEntity reads one entity of kind k from the store's JSON form (as
// Entities writes it): a pointer to the immy value (*immy.Tenant,
// *immy.Deployment, ...), for the Put function of its kind. Unknown keys,
// values that do not parse and trailing data are errors, all at once.
func DecodeEntity(k Kind, b []byte) (any, error) {
	sec, ok := sectionOf[k]
	if !ok || k == KindSettings {
		return nil, fmt.Errorf("fleetstore: unknown entity kind %q: %w", k, immy.ErrInvalid)
	}
	strict, ok := sec.(interface{ decodeStrict([]byte) (any, error) })
	if !ok {
		return nil, fmt.Errorf("fleetstore: entity kind %q cannot be decoded: %w", k, immy.ErrInvalid)
	}
	v, err := strict.decodeStrict(b)
	if err != nil {
		return nil, fmt.Errorf("fleetstore: %s: %w", k, err)
	}
	return v, nil
}

// decodeStrict is decode refusing unknown keys and trailing data.
func (s sect[T, D]) decodeStrict(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d D
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the entity")
	}
	var x decoder
	v := s.in(&d, &x)
	if err := errors.Join(x.errs...); err != nil {
		return nil, err
	}
	return &v, nil
}
