package wizard

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/idpctl/idpctl/steps"
)

// StatusOptions says how a status report is written.
type StatusOptions struct {
	JSON bool
	// Watching: one report of several. JSON reports are then one line each; text reports on a terminal replace
	// the previous one, elsewhere they follow it.
	Watching bool
	First    bool
}

// WriteStatus writes a status report on stdout.
func WriteStatus(ios *IOStreams, h steps.Health, opts StatusOptions) error {
	if opts.JSON {
		if opts.Watching {
			raw, err := json.Marshal(h)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(ios.Out, "%s\n", raw)
			return err
		}
		return WriteJSON(ios.Out, h)
	}
	var b strings.Builder
	switch {
	case opts.Watching && ios.IsStdoutTTY():
		b.WriteString("\x1b[H\x1b[2J") // home and clear: the report replaces the last one
	case opts.Watching && !opts.First:
		b.WriteString("\n")
	}
	t := theme{color: ios.ColorEnabled() && ios.IsStdoutTTY()}
	statusText(&b, h, t)
	_, err := io.WriteString(ios.Out, b.String())
	return err
}

func statusText(b *strings.Builder, h steps.Health, t theme) {
	when := h.CheckedAt.UTC().Format(time.RFC3339)
	verdict := t.good("healthy")
	if !h.Healthy {
		verdict = t.bad("unhealthy")
	}
	if a := h.Application; a != nil {
		fmt.Fprintf(b, "%s  %s (client id %s, tenant %s)\n", t.bold(a.DisplayName), verdict, a.ClientID, h.TenantID)
	} else {
		fmt.Fprintf(b, "%s  (tenant %s)\n", verdict, h.TenantID)
	}
	fmt.Fprintf(b, "%s\n", t.dim("checked "+when))
	if len(h.Problems) > 0 {
		b.WriteString("\nProblems\n")
		for _, p := range h.Problems {
			fmt.Fprintf(b, "  %s %s\n", t.bad("✗"), p)
		}
	}
	if d := h.Drift; d != nil {
		fmt.Fprintf(b, "\nSettings %s\n", t.dim("(compared with "+d.Against+")"))
		if len(d.Differences) == 0 {
			b.WriteString("  as setup applies them\n")
		}
		for _, diff := range d.Differences {
			line := fmt.Sprintf("  %s %s", diff.Action.Symbol(), diff.Resource)
			if diff.Setting != "" {
				line += fmt.Sprintf(": %s is %q, setup sets %q", diff.Setting, diff.Current, diff.Wanted)
			} else {
				line += fmt.Sprintf(" (setup would %s it)", diff.Action)
			}
			b.WriteString(line + "\n")
		}
	}
	if h.Found {
		b.WriteString("\nClient secrets\n")
		if len(h.Secrets) == 0 {
			b.WriteString("  none\n")
		}
		for _, s := range h.Secrets {
			left := fmt.Sprintf("%d days left", s.DaysLeft)
			if s.DaysLeft < 0 {
				left = t.bad("expired")
			} else if s.InUse && time.Duration(s.DaysLeft)*24*time.Hour < 30*24*time.Hour {
				left = t.warn(left)
			}
			line := fmt.Sprintf("  %-24s expires %s (%s)", s.DisplayName, s.Expires.Format(time.DateOnly), left)
			if s.InUse {
				line += "  in use"
			}
			if !s.ByIdpctl {
				line += t.dim("  not created by idpctl")
			}
			b.WriteString(line + "\n")
		}
	}
	if j := h.Provisioning; j != nil {
		jobText(b, j, t)
	}
	if len(h.Failures) > 0 {
		b.WriteString("\nProvisioning failures (each user's latest attempt)\n")
		for _, f := range h.Failures {
			fmt.Fprintf(b, "  %s, %s", t.bad(f.Cause), pluralWord(f.Count, "user"))
			if f.Reason != "" {
				fmt.Fprintf(b, ": %s", f.Reason)
			}
			b.WriteString("\n")
			fmt.Fprintf(b, "    %s\n", strings.Join(f.Users, ", "))
		}
	}
	for _, n := range h.Notes {
		fmt.Fprintf(b, "\nNote: %s\n", n)
	}
}

func jobText(b *strings.Builder, j *steps.JobHealth, t theme) {
	fmt.Fprintf(b, "\nProvisioning job %s\n", j.ID)
	row := func(k, v string) { fmt.Fprintf(b, "  %-14s %s\n", k, v) }
	state := j.Code
	switch {
	case j.Quarantine != nil:
		state = t.bad(j.Code)
	case strings.EqualFold(j.Code, "Active"):
		state = t.good(j.Code)
	}
	row("State", state+", schedule "+j.Schedule)
	if q := j.Quarantine; q != nil {
		row("Quarantine", fmt.Sprintf("%s since %s: %s", q.Reason, stamp(q.Since), q.Explanation))
		if q.ErrorCode != "" || q.ErrorMessage != "" {
			row("", strings.TrimSpace(q.ErrorCode+" "+q.ErrorMessage))
		}
		if !q.SeriesBegan.IsZero() && !q.SeriesBegan.Equal(q.Since) {
			row("", fmt.Sprintf("first imposed %s, re-evaluated %d times", stamp(q.SeriesBegan), q.Attempts))
		}
		if !q.NextAttempt.IsZero() {
			row("", "next attempt "+stamp(q.NextAttempt))
		}
	}
	shown := ""
	if q := j.Quarantine; q != nil {
		shown = strings.TrimSpace(q.ErrorCode + " " + q.ErrorMessage)
	}
	row("Last cycle", cycleText(j.LastCycle, shown))
	row("Last success", cycleText(j.LastSuccessfulCycle, shown))
	steady := "not yet: the initial cycle has not finished"
	if j.SteadyState {
		steady = "reached " + stamp(j.SteadyStateFirstAchieved)
		if !j.SteadyStateLastAchieved.IsZero() {
			steady += ", last " + stamp(j.SteadyStateLastAchieved)
		}
	}
	row("Steady state", steady)
	if j.ConsecutiveFailures > 0 {
		row("Failed cycles", fmt.Sprintf("%d in a row", j.ConsecutiveFailures))
	}
	if j.TroubleshootingURL != "" {
		row("Help", j.TroubleshootingURL)
	}
}

// cycleText is one cycle in a line; its error is left out when it is the quarantine's, shown just above.
func cycleText(c *steps.CycleHealth, shown string) string {
	if c == nil {
		return "none yet"
	}
	s := fmt.Sprintf("%s %s: %d imported, %d exported, %d escrowed", c.State, stamp(c.Began), c.Imported, c.Exported, c.Escrowed)
	if e := strings.TrimSpace(c.ErrorCode + " " + c.ErrorMessage); e != "" && e != shown {
		s += " (" + e + ")"
	}
	return s
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "(unknown)"
	}
	return t.UTC().Format(time.RFC3339)
}

func pluralWord(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
