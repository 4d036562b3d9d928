// View-model messages → text from the String Catalog (Localizable.xcstrings). The only
// place a key becomes text; plurals resolve through the catalog's plural variations.
import Foundation
import SwiftUI
import TakedownViewModels

extension Message {
    /// The text in the user's language.
    var text: String {
        let format = Bundle.main.localizedString(forKey: key.rawValue, value: nil, table: "Localizable")
        if args.isEmpty { return format }
        let values: [CVarArg] = args.map {
            switch $0 {
            case .int(let n): return n
            case .text(let s): return s as NSString
            }
        }
        return String(format: format, locale: Locale.current, arguments: values)
    }
}

extension L10nKey {
    /// The text of a key without arguments.
    var text: String { Message(self).text }
}

/// A label from the catalog, sized by Dynamic Type.
struct CatalogText: View {
    let message: Message
    var style: Font.TextStyle = .body

    init(_ key: L10nKey, style: Font.TextStyle = .body) {
        message = Message(key)
        self.style = style
    }

    init(_ message: Message, style: Font.TextStyle = .body) {
        self.message = message
        self.style = style
    }

    var body: some View {
        Text(verbatim: message.text)
            .font(.system(style))
            .fixedSize(horizontal: false, vertical: true)
    }
}

/// A button whose title and VoiceOver label come from the catalog.
struct CatalogButton: View {
    let key: L10nKey
    var role: ButtonRole?
    let action: () -> Void

    init(_ key: L10nKey, role: ButtonRole? = nil, action: @escaping () -> Void) {
        self.key = key
        self.role = role
        self.action = action
    }

    var body: some View {
        Button(role: role, action: action) { Text(verbatim: key.text).font(.body) }
            .accessibilityLabel(Text(verbatim: key.text))
    }
}
