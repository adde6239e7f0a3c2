package dynamic_test

import (
	"context"
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session/dynamic"
)

func ExampleCache_Apply() {
	f := &immy.Fleet{Software: []immy.Software{{
		ID: "app", Name: "App", Versions: []immy.SoftwareVersion{{Version: immy.MustParseVersion("4.0")}},
		Dynamic: &immy.DynamicSource{Script: &immy.Script{Language: immy.LanguageLua, Context: immy.ContextMetascript, Body: `
return {
	{version = "4.2.0", url = "https://vendor.example/app-4.2.0.msi", sha256 = string.rep("ab", 32)},
	{version = "4.1.0", url = "https://vendor.example/app-4.1.0.msi", sha256 = string.rep("cd", 32)},
}`}},
	}}}
	var cache dynamic.Cache
	got, err := cache.Apply(context.Background(), f)
	if err != nil {
		fmt.Println(err)
		return
	}
	app := got.Software[0]
	v, _ := app.Version(app.Latest())
	fmt.Println(len(app.Versions), app.Latest(), v.Installer.URL)
	// Output:
	// 3 4.2.0 https://vendor.example/app-4.2.0.msi
}
