package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/immyoss/engine/examples/immy-server/internal/auth"
)

// The bounds of open event streams: each holds a goroutine and polls the
// journal, so that one token cannot hold the server's.
const (
	maxStreamsPerToken = 4
	maxStreams         = 512
	ssePause           = 250 * time.Millisecond // between two polls woken by appends
)

// StreamLimit counts the open event streams, per token and overall. Its
// zero value has no bounds; the API's is maxStreamsPerToken and maxStreams.
type StreamLimit struct {
	PerToken, Total int

	mu    sync.Mutex
	open  map[string]int // token id -> open streams
	total int
}

// Acquire takes a place for a stream of the token; release gives it back.
// ok is false when the token or the server has no place left.
func (l *StreamLimit) Acquire(tokenID string) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if (l.PerToken > 0 && l.open[tokenID] >= l.PerToken) || (l.Total > 0 && l.total >= l.Total) {
		return nil, false
	}
	if l.open == nil {
		l.open = map[string]int{}
	}
	l.open[tokenID]++
	l.total++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.open[tokenID]--; l.open[tokenID] <= 0 {
				delete(l.open, tokenID)
			}
		})
	}, true
}

// openStream takes a place for the request's token's stream, or answers 429.
func (h *Handler) openStream(w http.ResponseWriter, r *http.Request) (func(), bool) {
	release, ok := h.streams.Acquire(token(r).ID)
	if !ok {
		h.fail(w, r, &Error{Status: http.StatusTooManyRequests, Code: CodeTooMany,
			Message: "too many open event streams (at most 4 per token): close one first"})
	}
	return release, ok
}

// recheck authenticates the stream's token again (the store caches tokens
// for a few seconds): a revoked or expired token's stream ends.
func (h *Handler) recheck(r *http.Request) (auth.Token, bool) {
	tok, err := h.authenticate(r)
	return tok, err == nil
}

// pause waits d, or until ctx ends (false).
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
