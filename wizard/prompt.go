package wizard

import (
	"bufio"
	"fmt"
	"strings"
)

// Confirm asks a yes/no question on stderr and reads the answer from stdin. Anything but yes is no.
func Confirm(io *IOStreams, question string) (bool, error) {
	fmt.Fprintf(io.ErrOut, "%s Only 'yes' will be accepted: ", question)
	line, err := bufio.NewReader(io.In).ReadString('\n')
	if err != nil && line == "" {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	return strings.TrimSpace(strings.ToLower(line)) == "yes", nil
}
