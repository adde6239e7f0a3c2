// Package bareappend is the floor a durable journal is measured against in
// benchmarks: each record as a JSON line appended to one file by one
// goroutine, in group-commit batches, each batch synced before its Appends
// return. It checks nothing and keeps no index.
package bareappend

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/immyoss/engine/session"
)

// Journal is the bare append, a session.Journal for benchmarks only.
type Journal struct {
	f        *os.File
	maxBatch int
	reqs     chan req
	done     chan struct{}
	written  atomic.Bool
}

type req struct {
	line []byte
	done chan error
}

// New creates the file at path and starts the writer; a batch holds the
// Appends waiting, up to maxBatch.
func New(path string, maxBatch int) (*Journal, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	j := &Journal{f: f, maxBatch: max(maxBatch, 1), reqs: make(chan req), done: make(chan struct{})}
	go j.writer()
	return j, nil
}

// Append writes rec and returns once its batch is synced.
func (j *Journal) Append(ctx context.Context, rec session.Record) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	j.written.Store(true)
	r := req{line: append(line, '\n'), done: make(chan error, 1)}
	j.reqs <- r
	return <-r.done
}

// Replay replays nothing: an engine asks when it starts, before anything is
// written; after that, replay is not what the bare append measures.
func (j *Journal) Replay(context.Context, func(session.Record) error) error {
	if j.written.Load() {
		return errors.New("bare append: cannot replay")
	}
	return nil
}

func (j *Journal) writer() {
	defer close(j.done)
	w := bufio.NewWriterSize(j.f, 1<<20)
	batch := make([]req, 0, j.maxBatch)
	for r := range j.reqs {
		batch = append(batch[:0], r)
		// gathered as sqlstore gathers: what is waiting, and when nothing
		// is, what the writers ready to run add after one yield
	gather:
		for yielded := false; len(batch) < j.maxBatch; {
			select {
			case r, ok := <-j.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, r)
				yielded = false
				continue
			default:
			}
			if yielded {
				break
			}
			runtime.Gosched()
			yielded = true
		}
		var err error
		for _, r := range batch {
			if _, werr := w.Write(r.line); werr != nil && err == nil {
				err = werr
			}
		}
		if ferr := w.Flush(); ferr != nil && err == nil {
			err = ferr
		}
		if serr := j.f.Sync(); serr != nil && err == nil {
			err = serr
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

// Close stops the writer, once every Append has returned, and closes the
// file.
func (j *Journal) Close() error {
	close(j.reqs)
	<-j.done
	return j.f.Close()
}
