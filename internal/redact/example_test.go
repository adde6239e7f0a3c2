package redact_test

import (
	"encoding/base64"
	"fmt"

	"github.com/immyoss/engine/internal/redact"
)

func Example() {
	m := redact.New("********", "hunter2")
	fmt.Println(m.String("pass=HUNTER2 b64=" + base64.StdEncoding.EncodeToString([]byte("admin:hunter2")) + " hex=68756e74657232"))

	// A secret cut across two chunks of a stream is hidden too.
	s := m.Stream(func(p []byte) { fmt.Printf("%q\n", p) })
	s.Write([]byte("login: admin/hun"))
	s.Write([]byte("ter2 ok\n"))
	s.Close()
	// Output:
	// pass=******** b64=YWRta******** hex=********
	// "login: adm"
	// "in/******** "
	// "ok\n"
}
