package luasandbox_test

import (
	"context"
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/immyoss/engine/internal/luasandbox"
)

func Example() {
	proto, err := luasandbox.Compile("greeting", `return "hello " .. name .. " (" .. tostring(os == nil) .. ")"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	pool := luasandbox.NewPool(0, luasandbox.Config{})
	v, err := pool.Run(context.Background(), proto, func(s *luasandbox.State, env *lua.LTable) {
		env.RawSetString("name", lua.LString("pc1"))
	})
	fmt.Println(luasandbox.String(v), err)
	// Output: hello pc1 (true) <nil>
}
