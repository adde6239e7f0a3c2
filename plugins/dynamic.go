package plugins

import (
	"context"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session/dynamic"
)

// DynamicLister is an instance's dynamic-versions capability as a
// dynamic.Lister: the source of a software whose immy.DynamicSource names
// the instance as its Integration.
//
//	cache := &dynamic.Cache{Integrations: map[string]dynamic.Lister{"ninja-eu": plugins.DynamicLister{Instance: ninja}}}
//
// An answer with a bad record (a *ResponseError) gives no versions: the
// cache keeps none of a source that is partly wrong.
type DynamicLister struct{ Instance *Instance }

// DynamicVersions lists the software's versions through the instance.
func (l DynamicLister) DynamicVersions(ctx context.Context, software string) ([]dynamic.Version, error) {
	vs, err := l.Instance.DynamicVersions(ctx, software)
	if err != nil {
		return nil, err
	}
	out := make([]dynamic.Version, len(vs))
	for i, v := range vs {
		out[i] = dynamic.Version{Version: v.Version, Installer: immy.Installer{URL: v.URL, SHA256: v.SHA256, FileName: v.FileName}}
	}
	return out, nil
}
