package credentials

import (
	"errors"

	"github.com/zalando/go-keyring"
)

// SystemKeyring is the OS keychain: Windows Credential Manager, macOS
// Keychain, or the Secret Service (GNOME Keyring, KWallet) on Linux.
// Calls can block; Resolver wraps each one in a timeout.
func SystemKeyring() Keyring { return systemKeyring{} }

type systemKeyring struct{}

func (systemKeyring) Get(service, account string) (string, error) {
	return keyring.Get(service, account)
}

func (systemKeyring) Set(service, account, secret string) error {
	return keyring.Set(service, account, secret)
}

func (systemKeyring) Delete(service, account string) error {
	return keyring.Delete(service, account)
}

// isNotFound accepts go-keyring's sentinel and ours, so other Keyring
// implementations can say "no entry" either way.
func isNotFound(err error) bool {
	return errors.Is(err, keyring.ErrNotFound) || errors.Is(err, ErrNotStored)
}

func isTooBig(err error) bool { return errors.Is(err, keyring.ErrSetDataTooBig) }
