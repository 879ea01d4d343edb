// Stands in for SwiftUI on Linux: a module that exports a type named `Environment`, as SwiftUI's property wrapper
// is. The consumer imports it next to Chatflow and uses `Environment` unqualified; had Chatflow also exported a type
// of that name, the build would fail with "'Environment' is ambiguous for type lookup".
@propertyWrapper
public struct Environment<Value> {
    public let wrappedValue: Value
    public init(wrappedValue: Value) { self.wrappedValue = wrappedValue }
}
