package notify_test

import (
	"fmt"
	"time"

	"github.com/immyoss/engine/session/notify"
)

func ExampleSigner_Verify() {
	signer := notify.Signer{Key: []byte("a key of at least thirty-two bytes, kept secret")}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	token, err := signer.Sign(notify.Link{Session: "s-42", Computer: "c-1", Action: notify.LinkPostpone,
		Postpone: time.Hour, Expires: now.Add(24 * time.Hour)})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The server, when the link is opened:
	l, err := signer.Verify(token, now.Add(time.Hour))
	fmt.Println(l.Session, l.Action, l.Postpone, err)
	_, err = signer.Verify(token, now.Add(25*time.Hour))
	fmt.Println(err)
	// Output:
	// s-42 postpone 1h0m0s <nil>
	// notify: link expired at 2026-12-08T10:00:00Z
}
