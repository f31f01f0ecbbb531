package lock

import (
	"crypto/sha256"
	"encoding/hex"
)

func fileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:10]) + ".lock"
}
