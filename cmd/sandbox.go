package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idpctl/idpctl/sandbox"
	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/wizard"
)

type sandboxOptions struct {
	IO                *wizard.IOStreams
	InitialCycleDelay time.Duration
	TimeScale         float64
	Latency           time.Duration
	ReplicationLag    int
	Users             int
	GroupSize         int
	StrictSCIM        bool
}

func newSandboxCmd(f *factory) *cobra.Command {
	opts := &sandboxOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "run a simulated Entra tenant and SaaS on loopback",
		Long: `Run a simulated Microsoft Entra tenant (the Microsoft Graph operations idpctl uses, with Entra's provisioning
service) and a reference SaaS (a SCIM 2.0 server plus the backend registration API) on 127.0.0.1, seeded with
a demo directory. It prints the URLs and tokens to use, and a ready-to-paste setup command. Ctrl-C stops it.

The tokens it prints are the sandbox's own; they open nothing else.`,
		Example: `  idpctl sandbox
  idpctl sandbox --initial-cycle-delay 1m          # Entra's first provisioning cycle after a minute, not 40
  idpctl sandbox --latency 100ms --replication-lag 2
  idpctl sandbox --users 100000                    # a large directory: 100,000 users in groups of 10,000
  idpctl sandbox --strict-scim                     # a SaaS that refuses Entra's default PATCH dialect`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			return sandboxRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&opts.InitialCycleDelay, "initial-cycle-delay", 40*time.Minute, "delay before the first provisioning cycle after start, as in Entra")
	fl.Float64Var(&opts.TimeScale, "time-scale", 1, "run provisioning cycles this many times faster than real time")
	fl.DurationVar(&opts.Latency, "latency", 0, "added to every Graph request")
	fl.IntVar(&opts.ReplicationLag, "replication-lag", 0, "reads by id that answer 404 for each newly created object")
	fl.IntVar(&opts.Users, "users", 0, "add this many generated users to the demo directory, in department groups")
	fl.IntVar(&opts.GroupSize, "group-size", 10_000, "members of each generated department group (with --users)")
	fl.BoolVar(&opts.StrictSCIM, "strict-scim", false, `make the reference SaaS a strict SCIM 2.0 server that refuses "active": "False" as a string (400 invalidValue)`)
	return usageErrors(cmd)
}

// maxTimeScale keeps the simulated provisioning service's 40-minute cycle at 240 ms or longer: faster, its
// timers spin and its logs grow without bound.
const maxTimeScale = 10000

// check refuses the values that make the sandbox spin or misbehave.
func (o *sandboxOptions) check() error {
	// Written so that NaN, which fails every comparison, fails this one too.
	if !(o.TimeScale > 0 && o.TimeScale <= maxTimeScale) {
		return usageErrorf("--time-scale %v: use a number above 0 and at most %d, e.g. 60 (a 40-minute cycle every 40 seconds)", o.TimeScale, maxTimeScale)
	}
	if o.InitialCycleDelay < 0 {
		return usageErrorf("--initial-cycle-delay %v: use a duration of 0 or more, e.g. 1m", o.InitialCycleDelay)
	}
	if o.Latency < 0 {
		return usageErrorf("--latency %v: use a duration of 0 or more, e.g. 100ms", o.Latency)
	}
	if o.ReplicationLag < 0 {
		return usageErrorf("--replication-lag %d: use 0 or more reads", o.ReplicationLag)
	}
	return nil
}

func sandboxRun(ctx context.Context, opts *sandboxOptions) error {
	sbOpts := sandbox.Options{InitialCycleDelay: opts.InitialCycleDelay, TimeScale: opts.TimeScale, StrictSCIM: opts.StrictSCIM}
	sbOpts.Faults.Latency = opts.Latency
	sbOpts.Faults.ReplicationLag = opts.ReplicationLag
	if opts.Users < 0 || opts.GroupSize <= 0 {
		return usageErrorf("--users %d --group-size %d: give zero or more users and a group size of at least 1", opts.Users, opts.GroupSize)
	}
	sbOpts.Population = entra.Population{Users: opts.Users, GroupSize: opts.GroupSize}
	sb, err := sandbox.Start(ctx, sbOpts)
	if err != nil {
		return err
	}
	defer sb.Close()

	group := sb.Demo.SmallstepUsers.DisplayName
	w := opts.IO.Out
	fmt.Fprintf(w, "Simulated Entra tenant %s (%s), demo groups %q and %q\n", sb.TenantID, sb.Demo.Domain, group, sb.Demo.Engineering.DisplayName)
	if n := sb.Population.Users; n > 0 {
		fmt.Fprintf(w, "  and %d generated users in %d department groups of up to %d (%q, ...)\n", n, len(sb.Population.Groups), opts.GroupSize, sb.Population.Groups[0].DisplayName)
	}
	fmt.Fprintf(w, "  Graph URL     %s\n", sb.GraphURL)
	fmt.Fprintf(w, "Reference SaaS\n")
	fmt.Fprintf(w, "  SCIM URL      %s\n", sb.SCIMURL)
	fmt.Fprintf(w, "  Backend URL   %s\n\n", sb.BackendURL)
	fmt.Fprintf(w, "Its tokens (they open this sandbox and nothing else):\n\n")
	fmt.Fprintf(w, "export IDPCTL_ACCESS_TOKEN=%s\n", sb.AccessToken.Reveal())
	fmt.Fprintf(w, "export IDPCTL_BACKEND_TOKEN=%s\n", sb.BackendToken.Reveal())
	fmt.Fprintf(w, "export IDPCTL_SANDBOX_ADMIN_TOKEN=%s\n", sb.AdminToken.Reveal())
	fmt.Fprintf(w, "export IDPCTL_SCIM_TOKEN=%s\n\n", sb.SCIMToken.Reveal())
	// A strict SaaS deactivates users only when Entra sends its compliant requests.
	compliant := ""
	if opts.StrictSCIM {
		compliant = " --scim-compliant"
	}
	fmt.Fprintf(w, "Then, in the same shell, either let the SaaS take the registration over its API:\n\n")
	fmt.Fprintf(w, "  idpctl setup entra --auth token --graph-url %s --tenant-id %s \\\n", sb.GraphURL, sb.TenantID)
	fmt.Fprintf(w, "    --backend http --backend-url %s --assign-group %q%s --non-interactive --yes\n\n", sb.BackendURL, group, compliant)
	fmt.Fprintf(w, "or give the SCIM values by hand, as with Smallstep today:\n\n")
	fmt.Fprintf(w, "  idpctl setup entra --auth token --graph-url %s --tenant-id %s \\\n", sb.GraphURL, sb.TenantID)
	fmt.Fprintf(w, "    --scim-url %s --secret-out ./client-secret --assign-group %q%s --non-interactive --yes\n\n", sb.SCIMURL, group, compliant)
	printWatchHelp(w, sb)
	fmt.Fprintln(opts.IO.ErrOut, "Running. Press Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Fprintln(opts.IO.ErrOut, "Stopped.")
	return nil
}

// printWatchHelp tells how to make the directory changes the provisioning service pushes to the SaaS. The setup
// token cannot (a directory write answers 403, as it should); IDPCTL_SANDBOX_ADMIN_TOKEN acts as a user
// administrator.
func printWatchHelp(w io.Writer, sb *sandbox.Sandbox) {
	user, group, manager := sb.Demo.Users[0], sb.Demo.SmallstepUsers, sb.Demo.Users[4]
	fmt.Fprintf(w, "To watch changes reach the SaaS, act as a user administrator with IDPCTL_SANDBOX_ADMIN_TOKEN (%s).\n",
		strings.Join(sandbox.UserAdminScopes(), ", "))
	fmt.Fprintf(w, "Each change is pushed by the next provisioning cycle (every 40 minutes; --time-scale speeds it up):\n\n")
	fmt.Fprintf(w, "  G=%s; A=\"Authorization: Bearer $IDPCTL_SANDBOX_ADMIN_TOKEN\"; J=\"Content-Type: application/json\"\n", sb.GraphURL)
	for _, l := range [][2]string{
		{`curl -X PATCH -H "$A" -H "$J" $G/users/` + user.UserPrincipalName + ` -d '{"jobTitle":"Head of Product"}'`, "change a user"},
		{`curl -X PATCH -H "$A" -H "$J" $G/users/` + user.UserPrincipalName + ` -d '{"accountEnabled":false}'`, "disable (deactivated in the SaaS)"},
		{`curl -X DELETE -H "$A" $G/users/` + user.UserPrincipalName, "delete (soft: deactivated)"},
		{`curl -X POST -H "$A" $G/directory/deletedItems/` + user.ID + `/restore`, "restore (reactivated)"},
		{`curl -X DELETE -H "$A" "$G/groups/` + group.ID + `/members/` + user.ID + `/\$ref"`, "remove from " + group.DisplayName},
		{`curl -X POST -H "$A" -H "$J" "$G/groups/` + group.ID + `/members/\$ref" -d '{"@odata.id":"'$G'/directoryObjects/` + user.ID + `"}'`, "add back"},
		{`curl -X PUT -H "$A" -H "$J" "$G/users/` + user.UserPrincipalName + `/manager/\$ref" -d '{"@odata.id":"'$G'/users/` + manager.ID + `"}'`,
			"change the manager (pushed only by a job that maps manager, which idpctl's setup removes)"},
	} {
		fmt.Fprintf(w, "  %s   # %s\n", l[0], l[1])
	}
	fmt.Fprintf(w, "\nand read the SaaS: curl -H \"Authorization: Bearer $IDPCTL_SCIM_TOKEN\" %s/Users\n\n", sb.SCIMURL)
}
