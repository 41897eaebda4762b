package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"

	"github.com/idpctl/idpctl/secret"
)

// Many similar calls (an assignment per principal, a lookup per 15 names) go to Graph in JSON batches
// (DOCS concepts/json-batching.md): up to 20 requests in one POST /$batch, each answered with its own status,
// headers and body, in any order. A batch answered 200 can still hold refusals; each is classified and retried
// like a request sent alone (retry.go), and only the refused ones are sent again, together, after the longest
// Retry-After among them: Graph evaluates every request of a batch against its throttling limits on its own
// and asks for exactly that (DOCS concepts/throttling.md, "Throttling and batching"). A batch that would hold
// one request is sent as that request alone, so that small setups pay nothing for the envelope.
const (
	// maxBatch is Graph's limit of requests in one JSON batch.
	maxBatch = 20
	// batchesInFlight bounds the batches sent at once: enough to hide latency, few enough that Graph's
	// per-app write limits (3,000 writes per 2.5 minutes) are not met by one run.
	batchesInFlight = 4
)

// rawRequest is a Graph request built by hand, to be sent alone or inside a batch.
type rawRequest struct {
	cl     call              // names the operation and decides its retries
	method string            // GET, POST, ...
	path   string            // from the version root, with an encoded query: /users?$filter=...
	header map[string]string // extra headers, e.g. ConsistencyLevel
	body   any               // sent as JSON; nil for none
}

// rawResult is the answer to one rawRequest: the body of a success, or the error it was refused with.
type rawResult struct {
	body []byte
	err  error
}

// sendAll sends requests, in JSON batches when there are several, and returns one result per request, in
// order. It returns early only when ctx ends; every request has a result.
func (c *Client) sendAll(ctx context.Context, reqs []rawRequest) []rawResult {
	results := make([]rawResult, len(reqs))
	if len(reqs) == 1 {
		results[0].body, results[0].err = c.sendRaw(ctx, reqs[0])
		return results
	}
	sem := make(chan struct{}, batchesInFlight)
	var wg sync.WaitGroup
	for start := 0; start < len(reqs); start += maxBatch {
		end := min(start+maxBatch, len(reqs))
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				for i := start; i < end; i++ {
					results[i].err = ctx.Err()
				}
				return
			}
			c.sendBatch(ctx, reqs[start:end], results[start:end])
		})
	}
	wg.Wait()
	return results
}

// sendRaw sends one request alone, with the retries of send.
func (c *Client) sendRaw(ctx context.Context, r rawRequest) ([]byte, error) {
	body, err := encodeBody(r.body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.cl.op, err)
	}
	u, err := url.Parse(c.baseURL + r.path)
	if err != nil {
		return nil, fmt.Errorf("%s: build the request URL: %w", r.cl.op, err)
	}
	return send(ctx, c, r.cl, func(ctx context.Context) ([]byte, error) {
		ri := abstractions.NewRequestInformation()
		ri.Method = method(r.method)
		ri.SetUri(*u)
		ri.Headers.TryAdd("Accept", "application/json")
		for k, v := range r.header {
			ri.Headers.TryAdd(k, v)
		}
		if body != nil {
			ri.SetStreamContentAndContentType(body, "application/json")
		}
		res, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping())
		raw, _ := res.([]byte)
		return raw, err
	})
}

func method(m string) abstractions.HttpMethod {
	for _, hm := range []abstractions.HttpMethod{abstractions.GET, abstractions.POST, abstractions.PATCH, abstractions.PUT, abstractions.DELETE} {
		if hm.String() == m {
			return hm
		}
	}
	return abstractions.GET
}

func encodeBody(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode the request body: %w", err)
	}
	return raw, nil
}

// batchItem is a request of a batch as Graph reads it.
type batchItem struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// batchAnswer is one response of a batch.
type batchAnswer struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// sendBatch sends up to maxBatch requests in one batch, then sends the refused ones that may be retried again,
// in a batch of their own, until each has a final answer.
func (c *Client) sendBatch(ctx context.Context, reqs []rawRequest, results []rawResult) {
	items := make([]batchItem, len(reqs))
	for i, r := range reqs {
		body, err := encodeBody(r.body)
		if err != nil {
			results[i].err = fmt.Errorf("%s: %w", r.cl.op, err)
			continue
		}
		items[i] = batchItem{ID: strconv.Itoa(i + 1), Method: r.method, URL: r.path, Headers: r.header, Body: body}
		if body != nil {
			items[i].Headers = map[string]string{"Content-Type": "application/json"}
			for k, v := range r.header {
				items[i].Headers[k] = v
			}
		}
	}
	var pending []int
	for i := range reqs {
		if results[i].err == nil {
			pending = append(pending, i)
		}
	}
	tries := make([]retries, len(reqs))
	attempts := make([]int, len(reqs))
	var waited *Wait
	defer func() {
		if waited != nil {
			notifyWait(ctx, Wait{Reason: waited.Reason, Over: true})
		}
	}()
	for len(pending) > 0 {
		sent := make([]batchItem, 0, len(pending))
		for _, i := range pending {
			sent = append(sent, items[i])
			attempts[i]++
		}
		answers, err := c.postBatch(ctx, sent)
		if err != nil {
			for _, i := range pending {
				results[i].err = err
			}
			return
		}
		var again []int
		var wait time.Duration
		var why WaitReason
		for _, i := range pending {
			a, ok := answers[strings.ToLower(items[i].ID)]
			if !ok {
				results[i].err = fmt.Errorf("%s: Graph's batch answer has no response for this request (id %s)", reqs[i].cl.op, items[i].ID)
				continue
			}
			if a.Status < 400 {
				results[i] = rawResult{body: a.Body}
				continue
			}
			ge := c.itemError(reqs[i].cl, a, attempts[i])
			results[i].err = ge
			if ge.Status == http.StatusTooManyRequests || ge.Status == http.StatusServiceUnavailable || ge.Status == http.StatusGatewayTimeout {
				c.obs.throttled.Add(1)
			}
			w, reason, retry := c.retryWait(ctx, reqs[i].cl, ge, &tries[i])
			if !retry {
				continue
			}
			again = append(again, i)
			if w > wait {
				wait, why = w, reason
			}
		}
		if len(again) == 0 {
			return
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "graph batch retry", slog.Int("requests", len(again)),
			slog.String("reason", string(why)), slog.Duration("wait", wait))
		if waited != nil && waited.Reason != why {
			notifyWait(ctx, Wait{Reason: waited.Reason, Over: true})
		}
		waited = &Wait{Reason: why, RetryIn: wait}
		notifyWait(ctx, *waited)
		if c.clock.Sleep(ctx, wait) != nil {
			return // the refused requests keep their last error
		}
		c.retries.Add(int64(len(again)))
		pending = again
	}
}

// postBatch sends one POST /$batch and returns its answers by lower-cased id (ids compare without regard to
// case). The envelope itself is retried like any call.
func (c *Client) postBatch(ctx context.Context, items []batchItem) (map[string]batchAnswer, error) {
	const op = "POST /$batch"
	envelope, err := json.Marshal(struct {
		Requests []batchItem `json:"requests"`
	}{items})
	if err != nil {
		return nil, fmt.Errorf("%s: encode the batch: %w", op, err)
	}
	reads := true
	for _, it := range items {
		reads = reads && it.Method == http.MethodGet
	}
	raw, err := send(ctx, c, call{op: op, reads: reads}, func(ctx context.Context) ([]byte, error) {
		ri := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.POST, "{+baseurl}/$batch", map[string]string{})
		ri.Headers.TryAdd("Accept", "application/json")
		ri.SetStreamContentAndContentType(envelope, "application/json")
		res, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping())
		raw, _ := res.([]byte)
		return raw, err
	})
	if err != nil {
		return nil, err
	}
	var answer struct {
		Responses []batchAnswer `json:"responses"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return nil, fmt.Errorf("%s: the answer is not a JSON batch response (%d bytes)", op, len(raw))
	}
	byID := make(map[string]batchAnswer, len(answer.Responses))
	for _, a := range answer.Responses {
		byID[strings.ToLower(a.ID)] = a
	}
	return byID, nil
}

// itemError is the *Error of a refused request inside a batch, read like the answer of a request sent alone.
func (c *Client) itemError(cl call, a batchAnswer, attempts int) *Error {
	e := &Error{Op: cl.op, Status: a.Status, Attempts: attempts}
	fromEnvelope(e, a.Body)
	header := http.Header{}
	for k, v := range a.Headers {
		header.Set(k, v)
	}
	c.fromHeader(e, header)
	e.Message = secret.Scrub(e.Message, cl.secrets...)
	return e
}

// decodeObject reads a JSON answer into an SDK model, so that batched answers convert like the SDK's own.
func decodeObject[T any](op string, raw []byte, factory serialization.ParsableFactory) (T, error) {
	var zero T
	if len(bytes.TrimSpace(raw)) == 0 {
		return zero, fmt.Errorf("%s: Graph's answer has no body", op)
	}
	node, err := jsonserialization.NewJsonParseNode(raw)
	if err != nil {
		return zero, fmt.Errorf("%s: the answer is not JSON (%d bytes)", op, len(raw))
	}
	v, err := node.GetObjectValue(factory)
	if err != nil {
		return zero, fmt.Errorf("%s: read the answer: %w", op, err)
	}
	out, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("%s: the answer is not the expected object", op)
	}
	return out, nil
}

// odataQuery encodes query options for a URL built by hand: "$filter=id in ('a')" becomes
// "$filter=id%20in%20('a')". Spaces are %20, not +, which OData does not read as a space.
func odataQuery(options ...[2]string) string {
	parts := make([]string, 0, len(options))
	for _, o := range options {
		parts = append(parts, o[0]+"="+strings.ReplaceAll(url.QueryEscape(o[1]), "+", "%20"))
	}
	return strings.Join(parts, "&")
}
