"""The synthetic world the product makes its own data from: label values and their
acoustics, fetal biometry charts, plane poses, the procedural phantom with its brain
landmarks, the acoustic medium, the B-mode renderer and a simulated scan."""
