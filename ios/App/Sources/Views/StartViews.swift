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

/// "I already have a case number" (the restore form arrives with the core's
/// `restoreCase`).
struct RestoreView: View {
    let app: AppModel

    var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            CatalogText(.restoreTitle, style: .title2).accessibilityAddTraits(.isHeader)
        }
    }
}
