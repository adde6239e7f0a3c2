// Command immy-meshcentral is the MeshCentral plugin of the engine: the
// engine starts it as a plugin process (see package plugins/meshcentral for
// its configuration); it is not run by hand.
package main

import (
	"github.com/immyoss/engine/plugins/meshcentral"
	"github.com/immyoss/engine/plugins/sdk"
)

func main() {
	p := &meshcentral.Plugin{}
	defer p.Close()
	sdk.Serve(p)
}
