package durable

import "github.com/immyoss/engine/session"

// SetEngine makes the queue work the sessions River hands this process,
// from now on, with engine (made with this queue as its Config.Dispatcher):
// how a process whose fleet changed moves on to an engine over the new
// fleet. Sessions being worked keep the engine they started with.
func (q *Queue) SetEngine(engine *session.Engine) {
	q.engine.Store(engine)
}
