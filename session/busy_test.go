package session

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// blindActive is a journal that has not yet seen another process's session
// when asked (ActiveSession finds nothing): the window between Start's check
// and its Created record, where only Append can refuse.
type blindActive struct{ *MemoryJournal }

func (blindActive) ActiveSession(context.Context, string) (string, bool, error) {
	return "", false, nil
}

// TestStartRefusedByJournal: a session of the computer that another process
// created (in the journal only) makes Start fail with the journal's
// *BusyError, leaving nothing of the refused session behind; once the other
// session ends, the computer takes one.
func TestStartRefusedByJournal(t *testing.T) {
	for _, dispatched := range []bool{false, true} {
		name := "in-process"
		if dispatched {
			name = "dispatched"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			mj := &MemoryJournal{}
			d := newChanDispatcher()
			h := newHarness(t, smallFleet(), func(c *Config) {
				c.Journal = mj
				if dispatched {
					c.Journal, c.Dispatcher = blindActive{mj}, d
				}
			})
			other := Record{Session: "other-process", Seq: 1, Kind: RecordCreated, Request: &Request{ID: "other-process", Computer: "pc1"}}
			require.NoError(t, mj.Append(ctx, other))

			for range 2 { // twice: the first refusal left nothing taken
				_, err := h.engine.Start(ctx, Request{Computer: "pc1", ID: "mine"})
				var busy *BusyError
				require.ErrorAs(t, err, &busy)
				require.Equal(t, BusyError{Computer: "pc1", Session: "other-process"}, *busy)
				var jerr *JournalError
				require.False(t, errors.As(err, &jerr), "a refusal is no journal failure: %v", err)
				_, ok := h.engine.Report("mine")
				require.False(t, ok, "the refused session is not kept")
			}
			require.Len(t, mj.Records(), 1, "nothing journaled of the refused session")

			end := Record{Session: "other-process", Seq: 2, Kind: RecordStatus, Status: Cancelled}
			require.NoError(t, mj.Append(ctx, end))
			id, err := h.engine.Start(ctx, Request{Computer: "pc1", ID: "mine"})
			require.NoError(t, err)
			if dispatched {
				require.Equal(t, id, d.next(t))
				rep, err := h.engine.Work(ctx, id)
				require.NoError(t, err)
				require.Equal(t, Passed, rep.Status)
			} else {
				require.Equal(t, Passed, h.wait(id).Status)
			}
		})
	}
}
