// History, case detail, settings.
import SwiftUI
import UIKit
import TakedownViewModels

struct HistoryView: View {
    let app: AppModel
    let history: HistoryModel

    var body: some View {
        VStack(alignment: .leading, spacing: 12) {
            CatalogText(.historyTitle, style: .title2).accessibilityAddTraits(.isHeader)
            Note(message: history.error)
            Note(message: history.emptyMessage)
            List(history.rows) { row in
                Button { Task { await app.openCase(row.id) } } label: {
                    VStack(alignment: .leading, spacing: 4) {
                        Text(verbatim: row.caseNumber ?? L10nKey.stateQueued.text).font(.headline)
                        CatalogText(row.state, style: .subheadline)
                        if row.isNew {
                            CatalogText(.historyNewSinceVisit, style: .footnote).foregroundStyle(.tint)
                        }
                    }
                    .accessibilityElement(children: .combine)
                }
            }
            .listStyle(.plain)
            .refreshable { await history.refresh() }
        }
    }
}

struct CaseDetailView: View {
    let app: AppModel
    let detail: CaseDetailModel
    @State private var confirmAll = false
    @State private var confirmItem: Int64?

    var body: some View {
        VStack(alignment: .leading, spacing: 12) {
            CatalogText(detail.title, style: .title2).accessibilityAddTraits(.isHeader)
            CatalogText(detail.state, style: .subheadline)
            if let key = detail.recoveryKey {
                VStack(alignment: .leading) {
                    CatalogText(.recoveryKeyLabel, style: .footnote)
                    Text(verbatim: key).font(.footnote.monospaced()).textSelection(.enabled)
                }
                .accessibilityElement(children: .combine)
            }
            Note(message: detail.rejection, isError: true)
            Note(message: detail.error, isError: true)
            Note(message: detail.notice)
            List(detail.items) { item in
                VStack(alignment: .leading, spacing: 4) {
                    CatalogText(item.label, style: .headline)
                    CatalogText(item.state, style: .subheadline)
                    CatalogText(item.seenByMessage, style: .footnote)
                    CatalogText(item.foundMessage, style: .footnote)
                    CatalogText(item.removedMessage, style: .footnote)
                    if item.lowQuality { CatalogText(.reviewLowQuality, style: .footnote) }
                    if item.canWithdraw {
                        CatalogButton(.detailWithdrawItem, role: .destructive) { confirmItem = item.id }
                    }
                }
            }
            .listStyle(.plain)
            .refreshable { await detail.refresh() }
            if detail.canAddMore { CatalogButton(.detailAddMore) { app.addMore() } }
            if detail.canResubmit { CatalogButton(.submitResubmit) { Task { await detail.resubmit() } } }
            if detail.canCancelQueued {
                CatalogButton(.submitCancelQueued, role: .destructive) { Task { await detail.cancelQueued() } }
            }
            if detail.canWithdrawAll {
                CatalogButton(.detailWithdrawAll, role: .destructive) { confirmAll = true }
            }
        }
        .onChange(of: detail.removed) { _, removed in if removed { Task { await app.back() } } }
        .confirmationDialog(L10nKey.detailWithdrawAll.text, isPresented: $confirmAll) {
            Button(L10nKey.detailWithdrawAll.text, role: .destructive) { Task { await detail.withdrawAll() } }
            Button(L10nKey.actionCancel.text, role: .cancel) {}
        } message: { Text(verbatim: L10nKey.detailWithdrawConfirm.text) }
        .confirmationDialog(L10nKey.detailWithdrawItem.text, isPresented: Binding(
            get: { confirmItem != nil }, set: { if !$0 { confirmItem = nil } })) {
            Button(L10nKey.detailWithdrawItem.text, role: .destructive) {
                if let id = confirmItem { Task { await detail.withdraw(itemId: id) } }
            }
            Button(L10nKey.actionCancel.text, role: .cancel) {}
        } message: { Text(verbatim: L10nKey.detailWithdrawConfirm.text) }
    }
}

struct SettingsView: View {
    let app: AppModel
    @Bindable var settings: SettingsModel
    @State private var askConfirm = false
    @State private var askForce = false

    var body: some View {
        Form {
            Section {
                Toggle(isOn: $settings.lockEnabled) {
                    VStack(alignment: .leading) {
                        CatalogText(.settingsAppLock)
                        CatalogText(.settingsAppLockSummary, style: .footnote).foregroundStyle(.secondary)
                    }
                }
                Toggle(isOn: $settings.neutralIcon) { CatalogText(.settingsNeutralIcon) }
            }
            Section {
                CatalogText(.settingsLanguage)
                CatalogText(.settingsLanguageSummary, style: .footnote).foregroundStyle(.secondary)
                Button { UIApplication.shared.open(URL(string: UIApplication.openSettingsURLString)!) } label: {
                    Text(verbatim: L10nKey.settingsLanguage.text)
                }
            }
            Section {
                CatalogButton(.settingsHelp) { app.openHelp() }
            }
            Section {
                Note(message: settings.error, isError: true)
                CatalogButton(.settingsDelete, role: .destructive) { settings.requestDelete() }
            }
        }
        .navigationTitle(L10nKey.settingsTitle.text)
        // Local presentation state: dismissing a dialog never changes the model by
        // itself; its cancel button (also a tap outside) does.
        .onChange(of: settings.deleteStep) { _, step in
            askConfirm = step == .confirm
            if case .pendingWarning = step { askForce = true } else { askForce = false }
        }
        .confirmationDialog(L10nKey.settingsDelete.text, isPresented: $askConfirm) {
            Button(L10nKey.settingsDelete.text, role: .destructive) { Task { await settings.confirmDelete() } }
            Button(L10nKey.actionCancel.text, role: .cancel) { settings.cancelDelete() }
        } message: { Text(verbatim: L10nKey.settingsDeleteConfirm.text) }
        .confirmationDialog(L10nKey.settingsDeleteAnyway.text, isPresented: $askForce) {
            Button(L10nKey.settingsDeleteAnyway.text, role: .destructive) { Task { await settings.deleteAnyway() } }
            Button(L10nKey.actionCancel.text, role: .cancel) { settings.cancelDelete() }
        } message: { Text(verbatim: L10nKey.settingsDeletePending.text) }
    }
}
