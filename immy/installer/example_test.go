package installer_test

import (
	"errors"
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/installer"
)

func ExampleParseFetch() {
	res, err := installer.ParseFetch("#immy:installer 1\ncached /var/cache/immy/installers/9f86d0/app.msi\n#immy:end\n")
	fmt.Println(res.Path, res.Cached, err)

	_, err = installer.ParseFetch("#immy:installer 1\nmismatch 0000000000000000000000000000000000000000000000000000000000000000\n#immy:end\n")
	var m *installer.MismatchError
	fmt.Println(errors.As(err, &m))
	// Output:
	// /var/cache/immy/installers/9f86d0/app.msi true <nil>
	// true
}

func ExampleParams() {
	p := installer.Params(immy.Installer{URL: "https://vendor.example/dl/app-4.2.msi?sig=x", SHA256: "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"})
	fmt.Println(p["installer_file"], p["installer_sha256"])
	// Output:
	// app-4.2.msi 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
}
