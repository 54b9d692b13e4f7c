from repoctx.cli import console

console()
