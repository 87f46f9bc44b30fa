package main

import "fmt"

// simSweep returns variants of the recommended candidate (s3f-lite), one
// parameter changed at a time, for `-hitratio -sweep`: the evidence behind
// the parameters chosen.
func simSweep() []simConfig {
	base := simCandidates[3]
	var out []simConfig
	add := func(name string, f func(c *simConfig)) {
		c := base
		c.name = "lite:" + name
		f(&c)
		c.desc = fmt.Sprintf("s3f-lite with %s", name)
		out = append(out, c)
	}
	add("sbit", func(c *simConfig) { c.skipSmall = true })
	add("ghost0.25", func(c *simConfig) { c.ghost = 0.25 })
	add("ghost1", func(c *simConfig) { c.ghost = 1 })
	add("ghost2", func(c *simConfig) { c.ghost = 2 })
	add("ghostctr0", func(c *simConfig) { c.ghostCtr = 0 })
	add("ghostctr2", func(c *simConfig) { c.ghostCtr = 2 })
	add("ghostall", func(c *simConfig) { c.ghostAll = true })
	add("small0.05", func(c *simConfig) { c.small = 0.05 })
	add("small0.1", func(c *simConfig) { c.small = 0.1 })
	add("small0.2", func(c *simConfig) { c.small = 0.2 })
	add("promote2", func(c *simConfig) { c.promote = 2 })
	add("promotectr0", func(c *simConfig) { c.promoteCtr = 0 })
	add("1bit", func(c *simConfig) { c.ctrMax = 1 })
	add("batch1", func(c *simConfig) { c.batch = 1 })
	add("batch16th", func(c *simConfig) { c.batch = -16 })
	add("adapt", func(c *simConfig) { c.adapt = true })
	add("sketch", func(c *simConfig) { c.sketch = true; c.harvest = true })
	return out
}
