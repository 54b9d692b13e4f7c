; inherits: typescript
; TSX — the TypeScript grammar plus JSX; every TypeScript pattern applies unchanged.
