package console

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestOutputsKeepAndFollow(t *testing.T) {
	o := newOutputs(nil)
	o.add("s1", outLine{Index: 0, Text: "one"})
	o.add("s2", outLine{Index: 0, Text: "other session"})
	o.add("s1", outLine{Index: 1, Text: "two"})
	kept, ch, stop := o.watch("s1")
	defer stop()
	if d := cmp.Diff([]outLine{{0, "one"}, {1, "two"}}, kept); d != "" {
		t.Fatalf("a page opened late gets what was written so far (-want +got):\n%s", d)
	}
	o.add("s2", outLine{Index: 0, Text: "not mine"})
	o.add("s1", outLine{Index: 1, Text: "three"})
	require.Equal(t, outLine{1, "three"}, <-ch)
	require.Empty(t, ch, "only the watched session's lines")

	// bounded: lines per session, and sessions
	for i := 0; i < outputKeepLines+10; i++ {
		o.add("s3", outLine{Text: fmt.Sprint(i)})
	}
	kept3, _, stop3 := o.watch("s3")
	stop3()
	require.Len(t, kept3, outputKeepLines)
	require.Equal(t, "10", kept3[0].Text, "the oldest lines go first")
	long := make([]byte, outputMaxLine+100)
	o.add("s4", outLine{Text: string(long)})
	kept4, _, stop4 := o.watch("s4")
	stop4()
	require.Len(t, kept4[0].Text, outputMaxLine, "a line is cut to its bound")
	for i := 0; i < outputKeepSession+50; i++ {
		o.add(fmt.Sprintf("x%d", i), outLine{Text: "x"})
	}
	o.mu.Lock()
	n := len(o.sessions)
	_, watched := o.sessions["s1"]
	_, s2 := o.sessions["s2"]
	o.mu.Unlock()
	require.LessOrEqual(t, n, outputKeepSession+1)
	require.True(t, watched, "a watched session's lines are kept")
	require.False(t, s2, "the oldest unwatched sessions go")
}
