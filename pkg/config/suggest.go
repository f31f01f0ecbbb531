package config

import (
	"fmt"
	"reflect"
	"strings"
)

// closest returns the known key nearest to key, or "" when none is near
// enough to be a slip: an edit distance of at most 2 (1 for short keys), or
// a key that starts with what was written ("user" for "username").
func closest(key string, known []string) string {
	key = strings.ToLower(key)
	best, bestDist := "", 0
	for _, k := range known {
		d := editDistance(key, k)
		limit := 2
		if len(key) <= 4 {
			limit = 1
		}
		if d > limit && !(len(key) >= 3 && strings.HasPrefix(k, key)) {
			continue
		}
		if best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each count one.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// didYouMean is " (did you mean "x"?)" for the closest known key, or "".
func didYouMean(key string, known []string) string {
	if k := closest(key, known); k != "" {
		return fmt.Sprintf(" (did you mean %q?)", k)
	}
	return ""
}

// profileKeyHint suggests the key for an unknown key written directly in a
// profile: a slip of a key at that level, a key that belongs in a section
// (parallel is rollout.parallel), or a flag's name used as a key (user is
// username, connect-timeout is timeouts.connect).
func profileKeyHint(key string, here []string) string {
	if s := didYouMean(key, here); s != "" {
		return s
	}
	norm := strings.ReplaceAll(strings.ToLower(key), "-", "_")
	for _, b := range bindings {
		last := b.key[strings.LastIndexByte(b.key, '.')+1:]
		if norm == strings.ReplaceAll(b.flag, "-", "_") || norm == last {
			return keyInSection(b.key)
		}
	}
	switch norm {
	case flagURL, "urls", "server", "hosts":
		return ` (servers go in a list: servers: [{name: web1, url: "https://web1.example.com/App/"}])`
	case "health", "health_url", "health_check":
		return keyInSection("rollout.health")
	case "keep", "archive_keep":
		return keyInSection("archive.keep")
	}
	return ""
}

// keyInSection names a dotted key the way it is written in the file.
func keyInSection(key string) string {
	section, name, ok := strings.Cut(key, ".")
	if !ok {
		return fmt.Sprintf(" (did you mean %q?)", key)
	}
	return fmt.Sprintf(" (did you mean %q inside %q, as %s: {%s: ...}?)", name, section, section, name)
}

// mapKeys lists the mapstructure keys of the struct out points to.
func mapKeys(out any) []string {
	t := reflect.TypeOf(out)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	keys := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("mapstructure"), ","); tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}
