package core

import (
	"context"

	"github.com/immyoss/engine/session"
)

// notifiers is the engine's session.Notifier when Config.Notifier is set:
// the notifier tells the people first (the before email, with its postpone
// and decline links), then the postponements asked (through the API or a
// link, see Postpone) are answered. A notifier that fails (the mail server
// down, a computer whose people are not known) is logged and does not stop
// the session: the email informs, it does not gate.
type notifiers struct {
	c    *Core
	mail session.Notifier
}

func (n *notifiers) Before(ctx context.Context, no session.Notice) (session.Reply, error) {
	rep, err := n.mail.Before(ctx, no)
	switch {
	case err != nil:
		n.c.log.Warn("before notification not sent", "session", no.Session, "computer", no.Computer, "err", err)
	case rep.Answer != session.Proceed:
		return rep, nil
	}
	return n.c.post.Before(ctx, no)
}

func (n *notifiers) After(ctx context.Context, no session.Notice) error {
	if err := n.mail.After(ctx, no); err != nil {
		n.c.log.Warn("after notification not sent", "session", no.Session, "computer", no.Computer, "err", err)
	}
	return n.c.post.After(ctx, no)
}

// notifier is the engine's session.Notifier.
func (c *Core) notifier() session.Notifier {
	if c.cfg.Notifier == nil {
		return &c.post
	}
	return &notifiers{c: c, mail: c.cfg.Notifier}
}
