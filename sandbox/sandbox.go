// Package sandbox runs the simulated Entra tenant (sandbox/entra, with its provisioning engine) and the
// reference SaaS backend (sandbox/refbackend) together on loopback, seeded with the demo directory: what
// `idpctl sandbox` serves and `idpctl setup entra --sandbox` runs against.
//
//	sb, err := sandbox.Start(ctx, sandbox.Options{})
//	defer sb.Close()
//	// Graph at sb.GraphURL with sb.AccessToken; SCIM at sb.SCIMURL with sb.SCIMToken;
//	// the backend contract at sb.BackendURL with sb.BackendToken.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/idpctl/idpctl/sandbox/entra"
	"github.com/idpctl/idpctl/sandbox/refbackend"
	"github.com/idpctl/idpctl/secret"
)

// Options configure a sandbox. The zero value listens on random loopback ports and behaves like Entra in real
// time (the first provisioning cycle 40 minutes after a job starts).
type Options struct {
	// GraphAddr and BackendAddr are the listen addresses; default "127.0.0.1:0" (a free port).
	GraphAddr   string
	BackendAddr string
	// InitialCycleDelay is the wait between starting a provisioning job and its first cycle; default 40m.
	InitialCycleDelay time.Duration
	// TimeScale divides every wait of the provisioning service (1000 makes 40 minutes 2.4 s); default 1.
	TimeScale float64
	// OnDemandAssignmentLag is how long provisionOnDemand does not yet see a new assignment; default 0.
	OnDemandAssignmentLag time.Duration
	// Faults are the tenant's Graph fault knobs (latency, replication lag, injected errors).
	Faults entra.Faults
	// Now is the clock of the tenant and the backend; default time.Now. With a fake clock set ManualCycles
	// and drive provisioning with Tenant.RunDueCycles.
	Now func() time.Time
	// ManualCycles turns the provisioning timers off (see entra.ProvisioningOptions).
	ManualCycles bool
	// EscrowThresholdScale divides the escrow thresholds' failure counts, for tests (see
	// entra.ProvisioningOptions); default 1, Microsoft's numbers. idpctl sandbox has no flag for it.
	EscrowThresholdScale float64
	// Population adds a large generated directory to the demo one (idpctl sandbox --users N); zero adds none.
	Population entra.Population
	// StrictSCIM makes the reference SaaS a strict SCIM 2.0 server that refuses Entra's default PATCH dialect
	// ("active": "False" as a string) with 400 invalidValue (refbackend.Options.Strict).
	StrictSCIM bool
	// ReadTimeout bounds how long a client may take to send a request, body included, on both servers;
	// default one minute. A client that trickles its body in is cut off then.
	ReadTimeout time.Duration
	// AccessTokenLifetime is the lifetime of AccessToken; default 24 hours, so a sandbox left running for a
	// working day keeps its printed token valid (Entra's own tokens last about an hour).
	AccessTokenLifetime time.Duration
}

// Sandbox is a running simulated tenant and backend.
type Sandbox struct {
	// GraphURL is the Graph base URL, "http://127.0.0.1:PORT/v1.0".
	GraphURL string
	// AccessToken is a delegated token of the demo's Global Administrator with every scope the setup flow
	// needs (entra.FlowScopes).
	AccessToken secret.Value
	// AdminToken is a delegated token of the same administrator with the directory write scopes a user
	// administrator works with (UserAdminScopes): change, disable, delete and restore users, change group
	// members, so a person can watch the provisioning service push those changes to the SaaS.
	AdminToken secret.Value
	TenantID   string
	// SCIMURL is the backend's SCIM base URL (Entra's "Tenant URL").
	SCIMURL string
	// SCIMToken is a SCIM bearer token the backend accepts from the start (for --backend manual).
	SCIMToken secret.Value
	// BackendURL is the base URL of the backend contract API; BackendToken its bearer token.
	BackendURL   string
	BackendToken secret.Value
	// Demo holds the seeded ids and names; Population what Options.Population added.
	Demo       entra.Demo
	Population entra.PopulationInfo
	Tenant     *entra.Tenant
	Backend    *refbackend.Server

	graph, backend *http.Server
	served         chan error
	transport      *http.Transport
	closeOnce      sync.Once // Close stops the servers once; a test's deferred Close may follow an explicit one
	closeErr       error
}

// Start listens on both addresses, seeds the demo directory and serves until Close. ctx bounds only the
// start-up.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	if opts.GraphAddr == "" {
		opts.GraphAddr = "127.0.0.1:0"
	}
	if opts.BackendAddr == "" {
		opts.BackendAddr = "127.0.0.1:0"
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = time.Minute
	}
	if opts.AccessTokenLifetime == 0 {
		opts.AccessTokenLifetime = 24 * time.Hour
	}
	var lc net.ListenConfig
	graphLn, err := lc.Listen(ctx, "tcp", opts.GraphAddr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: listen for Graph on %s: %w (pick another address)", opts.GraphAddr, err)
	}
	backendLn, err := lc.Listen(ctx, "tcp", opts.BackendAddr)
	if err != nil {
		graphLn.Close()
		return nil, fmt.Errorf("sandbox: listen for the backend on %s: %w (pick another address)", opts.BackendAddr, err)
	}
	graphBase := "http://" + graphLn.Addr().String()
	backendBase := "http://" + backendLn.Addr().String()

	scimToken, err1 := randomToken()
	backendToken, err2 := randomToken()
	if err := errors.Join(err1, err2); err != nil {
		graphLn.Close()
		backendLn.Close()
		return nil, fmt.Errorf("sandbox: make tokens: %w", err)
	}
	// The engine's SCIM client has its own transport, so Close can drop its idle connections.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	tenant := entra.New(entra.Options{
		Now:        opts.Now,
		BaseURL:    graphBase,
		Faults:     opts.Faults,
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: transport},
		Provisioning: entra.ProvisioningOptions{
			InitialCycleDelay:     opts.InitialCycleDelay,
			TimeScale:             opts.TimeScale,
			OnDemandAssignmentLag: opts.OnDemandAssignmentLag,
			ManualCycles:          opts.ManualCycles,
			EscrowThresholdScale:  opts.EscrowThresholdScale,
		},
	})
	var clock refbackend.Clock
	if opts.Now != nil {
		clock = backendClock{now: opts.Now}
	}
	backend := refbackend.New(refbackend.Options{
		BackendToken:  backendToken,
		SCIMToken:     scimToken,
		PublicBaseURL: backendBase,
		Clock:         clock,
		Strict:        opts.StrictSCIM,
	})
	s := &Sandbox{
		GraphURL:     graphBase + "/v1.0",
		TenantID:     tenant.ID(),
		SCIMURL:      backend.SCIMBaseURL(),
		SCIMToken:    scimToken,
		BackendURL:   backendBase,
		BackendToken: backendToken,
		Tenant:       tenant,
		Backend:      backend,
		graph:        newServer(tenant, opts.ReadTimeout),
		backend:      newServer(backend, opts.ReadTimeout),
		served:       make(chan error, 2),
		transport:    transport,
	}
	fail := func(err error) (*Sandbox, error) {
		graphLn.Close()
		backendLn.Close()
		_ = tenant.Close()
		return nil, err
	}
	if s.Demo, err = tenant.SeedDemo(); err != nil {
		return fail(fmt.Errorf("sandbox: seed the demo directory: %w", err))
	}
	if s.Population, err = tenant.SeedPopulation(opts.Population); err != nil {
		return fail(fmt.Errorf("sandbox: seed the generated directory: %w", err))
	}
	token, err := tenant.IssueToken(entra.TokenRequest{UserID: s.Demo.Admin.ID, Scopes: entra.FlowScopes(), Lifetime: opts.AccessTokenLifetime})
	if err != nil {
		return fail(fmt.Errorf("sandbox: issue the admin token: %w", err))
	}
	s.AccessToken = secret.New(token)
	adminToken, err := tenant.IssueToken(entra.TokenRequest{UserID: s.Demo.Admin.ID, Scopes: UserAdminScopes(), Lifetime: opts.AccessTokenLifetime})
	if err != nil {
		return fail(fmt.Errorf("sandbox: issue the directory admin token: %w", err))
	}
	s.AdminToken = secret.New(adminToken)
	go func() { s.served <- s.graph.Serve(graphLn) }()
	go func() { s.served <- s.backend.Serve(backendLn) }()
	return s, nil
}

// newServer is an HTTP server for one of the sandbox's handlers. People run these servers, so each bounds what
// a client can hold: the time to send a request (the handlers bound the size) and idle connections.
func newServer(h http.Handler, readTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, readTimeout),
		ReadTimeout:       readTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// Close stops both servers and the provisioning engine and waits until they have stopped. Calling it again
// returns the first call's result.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Sandbox) close() error {
	// Requests in flight get a moment to finish. Shutdown alone would also wait 5 seconds for connections a
	// client opened but never used (net/http counts them active until then), so the rest is closed.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	// The engine first: a cycle in flight talks to the backend.
	errs := []error{s.Tenant.Close()}
	for _, srv := range []*http.Server{s.graph, s.backend} {
		err := srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = srv.Close()
		}
		errs = append(errs, err)
	}
	for range 2 {
		if err := <-s.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	s.transport.CloseIdleConnections()
	return errors.Join(errs...)
}

// backendClock is the refbackend's clock on the sandbox's Now; waits (the Latency fault) use real time.
type backendClock struct{ now func() time.Time }

func (c backendClock) Now() time.Time                         { return c.now() }
func (c backendClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

func randomToken() (secret.Value, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return secret.Value{}, err
	}
	return secret.New(base64.RawURLEncoding.EncodeToString(b)), nil
}

// UserAdminScopes are the scopes of Sandbox.AdminToken: the directory writes of a user administrator, and
// nothing of the setup flow (applications, consent, synchronization).
func UserAdminScopes() []string { return []string{"User.ReadWrite.All", "Group.ReadWrite.All"} }
