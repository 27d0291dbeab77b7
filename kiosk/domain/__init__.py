"""Pure rules of the gate: pass codes and the gate decision. No Flask, no database, no clock."""
