// Package notify tells people about their computer's maintenance: Email, a
// session.Notifier that sends the before and after messages over SMTP, and
// Signer, which signs the links in them that postpone or decline a session.
//
// # Email
//
//	n, err := notify.NewEmail(notify.Config{
//		Addr: "smtp.example.com:587", Username: "mailer", Password: pw,
//		From: "maintenance@msp.example", FromName: "MSP Service Desk",
//		Audience: func(ctx context.Context, computer string) (notify.Audience, error) {
//			// the primary person's address, and the tenant's branding
//		},
//		Signer: &notify.Signer{Key: key}, LinkBase: "https://immy.msp.example/notify/link",
//	})
//	engine, err := session.New(session.Config{..., Notifier: n})
//
// Each message is multipart/alternative: a plain-text part and an HTML
// part (html/template), both quoted-printable, in the tenant's Branding:
// its name (the sender's name, the subject, the heading), its logo (an https
// URL) and its colours (#rrggbb; anything else is refused, never pasted into
// the style). The before message lists the changes planned and carries a
// postpone and a decline link; the after message lists what ran, how each
// action ended, the session's status and its reboot. Before answers
// Proceed at once: the person answers later, through a link.
//
// Delivery: STARTTLS is required (the server's certificate verified by
// Config.TLS or the system's roots) unless AllowPlaintext, which a
// Username forbids; AUTH PLAIN then, only over TLS. One SMTP conversation
// per message, bounded by ctx and Config.Timeout. Recipients and the
// branding are checked before anything is sent: every problem at once
// (an address with a line break, a colour that is not #rrggbb), nothing
// sent. The password never appears in a message or an error.
//
// # Links
//
// A link is LinkBase?t=TOKEN; the token holds the session, the computer,
// the action (postpone, with how long, or decline) and an expiry
// (Config.LinkTTL, 24 hours by default), signed with HMAC-SHA-256. The
// server that serves LinkBase calls Signer.Verify, which refuses a token
// signed with no key it has (ErrLinkInvalid) or expired (ErrLinkExpired),
// and then postpones or cancels the session by the link. Signer.OldKeys
// verify too, so that the key can be rotated.
package notify
