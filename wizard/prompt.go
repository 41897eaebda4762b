package wizard

import (
	"bufio"
	"context"
	"fmt"
	"strings"
)

// Confirm asks a yes/no question on stderr and reads the answer from stdin. Anything but yes is no. Ctrl-C
// (the context ending) stops the wait at once.
func Confirm(ctx context.Context, io *IOStreams, question string) (bool, error) {
	fmt.Fprintf(io.ErrWriter(), "%s Only 'yes' will be accepted: ", question)
	type answer struct {
		line string
		err  error
	}
	answers := make(chan answer, 1) // the reader may outlive an interrupted question; it then exits with the process
	go func() {
		line, err := bufio.NewReader(io.In).ReadString('\n')
		answers <- answer{line, err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(io.ErrWriter())
		return false, ctx.Err()
	case a := <-answers:
		if a.err != nil && a.line == "" {
			return false, fmt.Errorf("reading the answer: %w", a.err)
		}
		return strings.TrimSpace(strings.ToLower(a.line)) == "yes", nil
	}
}
