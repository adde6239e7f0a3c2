package meshcentral_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/immyoss/engine/plugins/meshcentral"
	"github.com/immyoss/engine/plugins/sdk"
)

// The configuration keys the plugin reads; the secret ones must be listed in
// the instance's Spec.Secrets.
func ExamplePlugin_Info() {
	for _, f := range (&meshcentral.Plugin{}).Info().ConfigFields {
		fmt.Printf("%-24s required=%-5v secret=%v\n", f.Key, f.Required, f.Secret)
	}
	// Output:
	// url                      required=true  secret=false
	// user                     required=false secret=false
	// login_key                required=false secret=true
	// password                 required=false secret=true
	// domain                   required=false secret=false
	// ca_file                  required=false secret=false
	// allow_secret_parameters  required=false secret=false
}

// Configure reports every problem of a configuration at once, as
// sdk.ErrInvalid, and never the secrets' values.
func ExamplePlugin_Configure() {
	cfg := sdk.NewConfig("mesh-eu", map[string]string{
		"url":       "mesh.example.com",
		"login_key": "hunter2",
	}, "login_key")
	err := (&meshcentral.Plugin{}).Configure(context.Background(), cfg, &sdk.Host{})
	fmt.Println(errors.Is(err, sdk.ErrInvalid))
	for _, p := range strings.Split(strings.TrimPrefix(err.Error(), "meshcentral: "), "; ") {
		fmt.Println(p)
	}
	// Output:
	// true
	// url: "mesh.example.com" is not an https://host[:port]/ address
	// login_key: must be 160 hex digits (meshcentral --logintokenkey prints it): invalid
}
