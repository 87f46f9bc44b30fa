package main

// suggest returns the candidate closest to name, for "did you mean": the
// only candidate that name starts (an abbreviation: "snap"), or else the one
// at most two edits away (a typo: "gte"); "" if there is none or it is not
// clear which.
func suggest(name string, candidates []string) string {
	if p := onlyPrefixed(name, candidates); p != "" {
		return p
	}
	best, bestDist, tie := "", 3, false
	for _, c := range candidates {
		d := editDistance(name, c)
		switch {
		case d < bestDist:
			best, bestDist, tie = c, d, false
		case d == bestDist:
			tie = true
		}
	}
	if best != "" && !tie && bestDist < len(name) {
		return best
	}
	return ""
}

// onlyPrefixed returns the one candidate that starts with name (of two bytes
// or more), or "".
func onlyPrefixed(name string, candidates []string) string {
	prefixed := ""
	for _, c := range candidates {
		if len(name) >= 2 && len(c) > len(name) && c[:len(name)] == name {
			if prefixed != "" {
				return ""
			}
			prefixed = c
		}
	}
	return prefixed
}

// editDistance is the Damerau-Levenshtein distance (optimal string alignment)
// of a and b in bytes: insertions, deletions, substitutions and swaps of two
// neighbours each cost one.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // no command or flag name is that long
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
