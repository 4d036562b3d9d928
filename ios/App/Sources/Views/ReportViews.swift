// Eligibility, not eligible, pick, review, hashing, submit, case number.
import CoreImage
import CoreImage.CIFilterBuiltins
import PhotosUI
import SwiftUI
import UIKit
import TakedownCore
import TakedownViewModels

/// A yes/no question.
struct YesNo: View {
    let question: L10nKey
    @Binding var answer: Bool?

    var body: some View {
        VStack(alignment: .leading) {
            CatalogText(question, style: .headline)
            Picker(selection: $answer) {
                Text(verbatim: L10nKey.answerYes.text).tag(Bool?.some(true))
                Text(verbatim: L10nKey.answerNo.text).tag(Bool?.some(false))
            } label: { Text(verbatim: question.text) }
                .pickerStyle(.segmented)
        }
    }
}

struct EligibilityView: View {
    @Bindable var flow: ReportFlowModel

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 20) {
                CatalogText(.eligibilityTitle, style: .title2).accessibilityAddTraits(.isHeader)
                VStack(alignment: .leading) {
                    CatalogText(.eligibilityUnder18, style: .headline)
                    Picker(selection: $flow.age) {
                        Text(verbatim: L10nKey.answerYes.text).tag(ReportFlowModel.AgeAnswer?.some(.under18))
                        Text(verbatim: L10nKey.answerNo.text).tag(ReportFlowModel.AgeAnswer?.some(.adult))
                        Text(verbatim: L10nKey.answerNotSure.text).tag(ReportFlowModel.AgeAnswer?.some(.notSure))
                    } label: { Text(verbatim: L10nKey.eligibilityUnder18.text) }
                        .pickerStyle(.segmented)
                }
                VStack(alignment: .leading) {
                    CatalogText(.eligibilityRole, style: .headline)
                    Picker(selection: $flow.role) {
                        Text(verbatim: L10nKey.eligibilityRoleSelf.text).tag(SubmitterRole?.some(.personShown))
                        Text(verbatim: L10nKey.eligibilityRoleParent.text).tag(SubmitterRole?.some(.parentOrGuardian))
                        Text(verbatim: L10nKey.eligibilityRoleOther.text).tag(SubmitterRole?.some(.someoneElse))
                    } label: { Text(verbatim: L10nKey.eligibilityRole.text) }
                        .pickerStyle(.inline)
                }
                YesNo(question: .eligibilityHasPictures, answer: $flow.hasPictures)
                CatalogButton(.actionContinue) { flow.checkEligibility() }
                    .buttonStyle(.borderedProminent)
                    .disabled(!flow.canCheckEligibility)
            }
        }
    }
}

struct NotEligibleView: View {
    let app: AppModel
    let flow: ReportFlowModel

    var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            CatalogText(.notEligibleTitle, style: .title2).accessibilityAddTraits(.isHeader)
            ForEach(flow.ineligibleReasons, id: \.self) { CatalogText($0) }
            CatalogButton(.notEligibleHelp) { app.openHelp() }
                .buttonStyle(.borderedProminent)
        }
    }
}

struct PickView: View {
    let app: AppModel
    let flow: ReportFlowModel
    let picker: PhotoPickerSource
    @State private var showing = false

    var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            CatalogText(.pickTitle, style: .title2).accessibilityAddTraits(.isHeader)
            CatalogText(.pickExplain)
            CatalogButton(.pickOpen) { showing = true }
                .buttonStyle(.borderedProminent)
        }
        .sheet(isPresented: $showing) {
            PhotoPicker { results in
                showing = false
                Task { @MainActor in
                    let items = await picker.accept(results)
                    flow.picked(items)
                }
            }
            .ignoresSafeArea()
        }
    }
}

/// One selected item: its in-memory thumbnail and its warning.
struct EntryRow: View {
    let flow: ReportFlowModel
    let entry: ReportFlowModel.Entry
    let position: Int

    var body: some View {
        HStack(spacing: 12) {
            thumbnail
                .frame(width: 64, height: 64)
                .clipShape(RoundedRectangle(cornerRadius: 6))
                .accessibilityLabel(Text(verbatim: Message(.reviewThumbnailDescription, .int(position), .int(flow.entries.count)).text))
            VStack(alignment: .leading) {
                if let warning = entry.warning { CatalogText(warning, style: .footnote).foregroundStyle(.orange) }
            }
            Spacer()
            Button(role: .destructive) { flow.remove(entry.id) } label: { Image(systemName: "minus.circle") }
                .accessibilityLabel(Text(verbatim: L10nKey.reviewRemove.text))
        }
    }

    @ViewBuilder private var thumbnail: some View {
        if let data = entry.item.thumbnail, let image = UIImage(data: data) {
            Image(uiImage: image).resizable().scaledToFill()
        } else {
            Image(systemName: entry.item.kind == .video ? "film" : "photo").font(.largeTitle)
        }
    }
}

struct ReviewView: View {
    let flow: ReportFlowModel

    var body: some View {
        VStack(alignment: .leading, spacing: 12) {
            CatalogText(.reviewTitle, style: .title2).accessibilityAddTraits(.isHeader)
            CatalogText(flow.countMessage)
            Note(message: flow.notice)
            Note(message: flow.error, isError: true)
            List {
                ForEach(Array(flow.entries.enumerated()), id: \.element.id) { i, entry in
                    EntryRow(flow: flow, entry: entry, position: i + 1)
                }
            }
            .listStyle(.plain)
            CatalogButton(.reviewAddMore) { flow.chooseMore() }
            CatalogButton(.actionContinue) { Task { await flow.startHashing() } }
                .buttonStyle(.borderedProminent)
        }
    }
}

struct HashingView: View {
    let flow: ReportFlowModel

    var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            CatalogText(.hashingTitle, style: .title2).accessibilityAddTraits(.isHeader)
            ProgressView(value: Double(flow.progress.done), total: Double(max(flow.progress.total, 1)))
                .accessibilityValue(Text(verbatim: flow.progress.message.text))
            CatalogText(flow.progress.message)
            CatalogText(.hashingStaysHere)
            CatalogButton(.actionCancel, role: .cancel) { flow.cancelHashing() }
        }
    }
}

struct SubmitView: View {
    let app: AppModel
    let flow: ReportFlowModel

    var body: some View {
        VStack(alignment: .leading, spacing: 12) {
            CatalogText(.submitTitle, style: .title2).accessibilityAddTraits(.isHeader)
            CatalogText(.submitExplain)
            Note(message: flow.error, isError: true)
            List {
                ForEach(Array(flow.entries.enumerated()), id: \.element.id) { i, entry in
                    EntryRow(flow: flow, entry: entry, position: i + 1)
                }
            }
            .listStyle(.plain)
            if flow.sending { ProgressView() }
            CatalogButton(flow.error == nil ? .submitSend : .actionRetry) { Task { await flow.send() } }
                .buttonStyle(.borderedProminent)
                .disabled(flow.sending)
        }
    }
}

struct CaseNumberView: View {
    let app: AppModel
    let flow: ReportFlowModel
    @State private var copied = false
    @State private var showQR = false

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 16) {
                CatalogText(flow.queued ? .stateQueued : .caseTitle, style: .title2).accessibilityAddTraits(.isHeader)
                Note(message: flow.notice)
                Note(message: flow.error, isError: true)
                if let number = flow.caseNumber {
                    CatalogText(.caseNumberLabel, style: .headline)
                    Text(verbatim: number).font(.title3.monospaced()).textSelection(.enabled)
                }
                if let key = flow.recoveryKey {
                    CatalogText(.recoveryKeyLabel, style: .headline)
                    Text(verbatim: key).font(.title3.monospaced()).textSelection(.enabled)
                }
                if flow.caseNumber != nil || flow.recoveryKey != nil {
                    let both = [flow.caseNumber, flow.recoveryKey].compactMap { $0 }.joined(separator: "\n")
                    CatalogButton(.caseCopy) {
                        // Local only (no Universal Clipboard), gone after two minutes.
                        UIPasteboard.general.setItems([[UIPasteboard.typeAutomatic: both]],
                                                      options: [.localOnly: true, .expirationDate: Date().addingTimeInterval(120)])
                        copied = true
                    }
                    if copied { CatalogText(.caseCopied, style: .footnote) }
                    CatalogButton(.caseShowQr) { showQR.toggle() }
                    if showQR, let qr = QRCode.image(both) {
                        Image(uiImage: qr).interpolation(.none).resizable().scaledToFit()
                            .frame(maxWidth: 240)
                            .accessibilityLabel(Text(verbatim: L10nKey.caseShowQr.text))
                    }
                }
                CatalogText(.caseWriteDown)
                CatalogButton(.caseDone) { Task { await app.caseNumberSaved() } }
                    .buttonStyle(.borderedProminent)
            }
        }
    }
}

/// The case number and recovery key as a QR code (CoreImage, made on the phone).
enum QRCode {
    static func image(_ text: String) -> UIImage? {
        let filter = CIFilter.qrCodeGenerator()
        filter.message = Data(text.utf8)
        filter.correctionLevel = "M"
        guard let output = filter.outputImage?.transformed(by: CGAffineTransform(scaleX: 8, y: 8)),
              let cg = CIContext().createCGImage(output, from: output.extent) else { return nil }
        return UIImage(cgImage: cg)
    }
}
