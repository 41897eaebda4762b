//go:build linux || windows

package graph

import (
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity/cache"
)

// persistentCache is azidentity's encrypted token cache: on Linux the key lives in the kernel's key retention
// service (lost at shutdown, and unavailable in some containers), on Windows the cache is DPAPI-protected
// (azidentity TOKEN_CACHING.MD). An error means this machine offers no such store; sign-in then keeps tokens in
// memory. macOS is left out: its Keychain access needs cgo, and releases are built with CGO_ENABLED=0.
func persistentCache() (azidentity.Cache, error) {
	return cache.New(&cache.Options{Name: "idpctl"})
}
