// Lock, start, help and restore.
import SwiftUI
import TakedownViewModels

struct LockView: View {
    let app: AppModel

    var body: some View {
        VStack(spacing: 24) {
            CatalogText(.lockTitle, style: .title2)
            CatalogButton(.lockUnlock) { Task { await app.unlock() } }
                .buttonStyle(.borderedProminent)
        }
        .task { await app.unlock() }
    }
}

struct StartView: View {
    let app: AppModel

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 16) {
                CatalogText(.startTitle, style: .title)
                    .accessibilityAddTraits(.isHeader)
                CatalogText(.startWhatItDoes)
                CatalogText(.startNothingLeaves)
                CatalogText(.startWhatItCannot)
                CatalogText(.startCaseNumber)
                Note(message: app.startError, isError: true)
                if app.historyUnreadable {
                    CatalogButton(.settingsDelete) { Task { await app.wipeUnreadableHistory() } }
                }
                CatalogButton(.startBegin) { app.startReport() }
                    .buttonStyle(.borderedProminent)
                CatalogButton(.startRestore) { app.openRestore() }
                CatalogButton(.startHistory) { Task { await app.openHistory() } }
                CatalogButton(.startSettings) { app.openSettings() }
                CatalogButton(.settingsHelp) { app.openHelp() }
            }
        }
    }
}

struct HelpView: View {
    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 16) {
                CatalogText(.helpTitle, style: .title2).accessibilityAddTraits(.isHeader)
                CatalogText(.helpIntro)
                ForEach(helpServices, id: \.self) { service in
                    VStack(alignment: .leading) {
                        CatalogText(service.name, style: .headline)
                        CatalogText(service.contact)
                            .textSelection(.enabled)
                    }
                    .accessibilityElement(children: .combine)
                }
            }
        }
    }
}

/// "I already have a case number": number and recovery key; a mistyped group is named.
struct RestoreView: View {
    let app: AppModel

    var body: some View {
        if let restore = app.restore { RestoreForm(restore: restore) }
    }
}

struct RestoreForm: View {
    @Bindable var restore: RestoreModel

    var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            CatalogText(.restoreTitle, style: .title2).accessibilityAddTraits(.isHeader)
            TextField(L10nKey.restoreNumberHint.text, text: $restore.caseNumber)
                .textInputAutocapitalization(.characters)
                .autocorrectionDisabled()
                .textFieldStyle(.roundedBorder)
                .accessibilityLabel(Text(verbatim: L10nKey.restoreNumberHint.text))
            TextField(L10nKey.restoreKeyHint.text, text: $restore.recoveryKey, axis: .vertical)
                .textInputAutocapitalization(.characters)
                .autocorrectionDisabled()
                .font(.body.monospaced())
                .textFieldStyle(.roundedBorder)
                .overlay(RoundedRectangle(cornerRadius: 6)
                    .stroke(restore.mistypedGroup == nil ? Color.clear : Color.red, lineWidth: 2))
                .accessibilityLabel(Text(verbatim: L10nKey.restoreKeyHint.text))
            Note(message: restore.error, isError: true)
            if restore.restoring { ProgressView() }
            CatalogButton(.restoreAction) { Task { await restore.restore() } }
                .buttonStyle(.borderedProminent)
                .disabled(!restore.canRestore)
        }
    }
}
