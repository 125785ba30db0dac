//! Host bindings generated from `wit/world.wit`.

wasmtime::component::bindgen!({
    path: "wit",
    world: "component",
    imports: { default: async | trappable },
    exports: { default: async },
});
