package main

import "fmt"

// simSweep returns variants of the s3f candidate, one parameter changed at a
// time, for `-hitratio -sweep`: the evidence behind the parameters chosen.
func simSweep() []simConfig {
	base := simCandidates[3] // s3f
	var out []simConfig
	add := func(name string, f func(c *simConfig)) {
		c := base
		c.name = "s3f:" + name
		f(&c)
		c.desc = fmt.Sprintf("s3f with %s", name)
		out = append(out, c)
	}
	add("nobit", func(c *simConfig) { c.skipSmall = false })
	add("ghostctr1", func(c *simConfig) { c.ghostCtr = 1 })
	add("nobit,ghostctr1", func(c *simConfig) { c.skipSmall = false; c.ghostCtr = 1 })
	add("ghost0.5", func(c *simConfig) { c.ghost = 0.5 })
	add("ghost2", func(c *simConfig) { c.ghost = 2 })
	add("small0.05", func(c *simConfig) { c.small = 0.05 })
	add("small0.2", func(c *simConfig) { c.small = 0.2 })
	add("promote2", func(c *simConfig) { c.promote = 2 })
	add("promotectr0", func(c *simConfig) { c.promoteCtr = 0 })
	add("ctr1bit", func(c *simConfig) { c.ctrMax = 1 })
	add("insert1", func(c *simConfig) { c.insertCtr = 1 })
	add("batch64th", func(c *simConfig) { c.batch = -64 })
	add("ghost0.25,ghostctr1", func(c *simConfig) { c.ghost = 0.25; c.ghostCtr = 1 })
	add("ghost0.5,ghostctr1", func(c *simConfig) { c.ghost = 0.5; c.ghostCtr = 1 })
	add("ghost0.5,ghostctr1,1bit", func(c *simConfig) { c.ghost = 0.5; c.ghostCtr = 1; c.ctrMax = 1 })
	add("ghost0.5,ghostctr1,small0.2", func(c *simConfig) { c.ghost = 0.5; c.ghostCtr = 1; c.small = 0.2 })
	add("noghost", func(c *simConfig) { c.ghost = 0 })
	add("tlfu", func(c *simConfig) { c.ghost = 0; c.sketch = true; c.harvest = true; c.skipSmall = false })
	add("tlfu-misses", func(c *simConfig) { c.ghost = 0; c.sketch = true; c.skipSmall = false })
	add("tlfu+ghost0.5", func(c *simConfig) {
		c.ghost = 0.5
		c.ghostCtr = 1
		c.sketch = true
		c.harvest = true
		c.skipSmall = false
	})
	return out
}
