package steps

import (
	"context"
	"errors"
	"testing"
)

func TestOutputWaitsForSet(t *testing.T) {
	var o Output[string]
	got := make(chan string)
	go func() {
		v, err := o.Wait(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- v
	}()
	o.Set("app-1")
	if v := <-got; v != "app-1" {
		t.Errorf("Wait() = %q, want app-1", v)
	}
	if v, ok := o.Get(); !ok || v != "app-1" {
		t.Errorf("Get() = %q, %v", v, ok)
	}
}

func TestOutputWaitEndsWithContext(t *testing.T) {
	var o Output[int]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait() error = %v, want context.Canceled", err)
	}
	if _, ok := o.Get(); ok {
		t.Error("Get() reported a value that was never set")
	}
}
