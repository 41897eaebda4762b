//go:build !linux && !windows

package graph

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// persistentCache has no protected store to offer here: azidentity/cache needs cgo for the macOS Keychain
// (releases are built with CGO_ENABLED=0) and supports no other system. Tokens stay in memory; the remembered
// account still spares a person from choosing it again.
func persistentCache() (azidentity.Cache, error) {
	return azidentity.Cache{}, errors.New("no persistent token cache on this platform in a build without cgo")
}
