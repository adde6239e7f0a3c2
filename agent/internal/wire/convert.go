package wire

import (
	"errors"
	"fmt"

	"github.com/immyoss/engine/immy"
)

// FromIdentity converts an immy.Identity for the wire.
func FromIdentity(id immy.Identity) Identity {
	w := Identity{
		UUID: id.UUID, Serial: id.Serial, Manufacturer: id.Manufacturer, Model: id.Model,
		Hostname: id.Hostname, OS: id.OS, OSVersion: id.OSVersion, OSInstallID: id.OSInstallID,
		Domain: id.Domain,
	}
	if id.Kind != immy.KindUnknown {
		w.Kind = id.Kind.String()
	}
	return w
}

// Immy converts a wire identity back; an unknown kind is an error.
func (w Identity) Immy() (immy.Identity, error) {
	id := immy.Identity{
		UUID: w.UUID, Serial: w.Serial, Manufacturer: w.Manufacturer, Model: w.Model,
		Hostname: w.Hostname, OS: w.OS, OSVersion: w.OSVersion, OSInstallID: w.OSInstallID,
		Domain: w.Domain,
	}
	if w.Kind != "" {
		k, err := immy.ParseComputerKind(w.Kind)
		if err != nil {
			return immy.Identity{}, fmt.Errorf("wire: identity kind: %w", err)
		}
		id.Kind = k
	}
	return id, nil
}

// FromInventory converts an immy.Inventory for the wire.
func FromInventory(inv immy.Inventory) *Inventory {
	w := &Inventory{Identity: FromIdentity(inv.Identity), UPNs: inv.UPNs}
	for _, s := range inv.Software {
		w.Software = append(w.Software, Software{Name: s.Name, Version: s.Version.String(), ProductCode: s.ProductCode, UpgradeCode: s.UpgradeCode, Publisher: s.Publisher})
	}
	return w
}

// Immy converts a wire inventory back, reporting every bad entry at once.
func (w *Inventory) Immy() (immy.Inventory, error) {
	var errs []error
	id, err := w.Identity.Immy()
	if err != nil {
		errs = append(errs, err)
	}
	inv := immy.Inventory{Identity: id, UPNs: w.UPNs}
	for i, s := range w.Software {
		d := immy.DetectedSoftware{Name: s.Name, ProductCode: s.ProductCode, UpgradeCode: s.UpgradeCode, Publisher: s.Publisher}
		if s.Version != "" {
			v, err := immy.ParseVersion(s.Version)
			if err != nil {
				errs = append(errs, fmt.Errorf("wire: software #%d (%q): %w", i+1, s.Name, err))
				continue
			}
			d.Version = v
		}
		inv.Software = append(inv.Software, d)
	}
	if err := errors.Join(errs...); err != nil {
		return immy.Inventory{}, err
	}
	return inv, nil
}
