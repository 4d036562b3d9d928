// The system photo picker (no photo-library permission: PHPicker runs out of process
// and hands over only what the user chose) and the decoding of each picked item, one
// at a time, when the hashing screen asks for it:
// - pictures (HEIC, JPEG, PNG, …) with ImageIO at full size, orientation applied, as
//   RGBA with the file's bytes (`MediaInput.imagePixels`);
// - videos with AVAssetImageGenerator, one frame per second pushed to the core's
//   VideoHasher with the file's bytes (`MediaInput.video`).
// Nothing is written except a video's temporary copy (AVFoundation needs a file), which
// is deleted as soon as it is hashed. Thumbnails are small JPEGs held in memory.
import AVFoundation
import CoreGraphics
import ImageIO
import PhotosUI
import SwiftUI
import TakedownCore
import TakedownViewModels
import UniformTypeIdentifiers

final class PhotoPickerSource: MediaSource, @unchecked Sendable {
    private let lock = NSLock()
    private var providers: [String: NSItemProvider] = [:]

    /// Keeps the picker's results and makes their thumbnails.
    func accept(_ results: [PHPickerResult]) async -> [PickedItem] {
        var items: [PickedItem] = []
        for result in results {
            let provider = result.itemProvider
            let isVideo = provider.hasItemConformingToTypeIdentifier(UTType.movie.identifier)
            let id = UUID().uuidString
            lock.withLock { providers[id] = provider }
            let thumb = await Self.thumbnail(provider, video: isVideo)
            items.append(PickedItem(id: id, kind: isVideo ? .video : .image, thumbnail: thumb))
        }
        return items
    }

    func discard(_ item: PickedItem) {
        _ = lock.withLock { providers.removeValue(forKey: item.id) }
    }

    func input(for item: PickedItem) async throws -> MediaInput {
        guard let provider = lock.withLock({ providers[item.id] }) else { throw CocoaError(.fileNoSuchFile) }
        try Task.checkCancellation()
        if item.kind == .video {
            let copy = try await Self.copyFile(provider, type: .movie)
            defer { try? FileManager.default.removeItem(at: copy) }
            return try await Self.hashVideo(copy)
        }
        let data = try await Self.loadData(provider, type: .image)
        return try Self.decodePicture(data)
    }

    // MARK: pictures

    /// Full-size RGBA with orientation applied; the core refuses anything smaller than
    /// the header's size, so a thumbnail is only asked for at the longer original side.
    static func decodePicture(_ data: Data) throws -> MediaInput {
        guard let src = CGImageSourceCreateWithData(data as CFData, [kCGImageSourceShouldCache: false] as CFDictionary),
              let props = CGImageSourceCopyPropertiesAtIndex(src, 0, nil) as? [CFString: Any],
              let w0 = props[kCGImagePropertyPixelWidth] as? Int, let h0 = props[kCGImagePropertyPixelHeight] as? Int
        else { throw TakedownError.InvalidMedia(reason: "undecodable") }
        let options: [CFString: Any] = [
            kCGImageSourceCreateThumbnailFromImageAlways: true,
            kCGImageSourceCreateThumbnailWithTransform: true,
            kCGImageSourceThumbnailMaxPixelSize: max(w0, h0),
            kCGImageSourceShouldCacheImmediately: true,
        ]
        guard let image = CGImageSourceCreateThumbnailAtIndex(src, 0, options as CFDictionary) else {
            throw TakedownError.InvalidMedia(reason: "undecodable")
        }
        let (rgba, w, h) = try rgbaPixels(image)
        return .imagePixels(rgba: rgba, width: UInt32(w), height: UInt32(h), stride: UInt32(w * 4),
                            fileBytes: data, originalWidth: UInt32(w0), originalHeight: UInt32(h0))
    }

    /// Draws `image` into packed RGBA, 8 bits per channel (alpha dropped, as the
    /// reference hashers see RGB).
    static func rgbaPixels(_ image: CGImage) throws -> (Data, Int, Int) {
        let w = image.width, h = image.height
        var buffer = Data(count: w * h * 4)
        let ok = buffer.withUnsafeMutableBytes { raw -> Bool in
            guard let ctx = CGContext(data: raw.baseAddress, width: w, height: h, bitsPerComponent: 8,
                                      bytesPerRow: w * 4, space: CGColorSpace(name: CGColorSpace.sRGB)!,
                                      bitmapInfo: CGImageAlphaInfo.noneSkipLast.rawValue) else { return false }
            ctx.draw(image, in: CGRect(x: 0, y: 0, width: w, height: h))
            return true
        }
        guard ok else { throw TakedownError.InvalidMedia(reason: "undrawable") }
        return (buffer, w, h)
    }

    // MARK: videos

    /// One frame per second (as the hasher asks) through AVAssetImageGenerator, then
    /// the file's bytes in chunks for MD5/SHA-256.
    static func hashVideo(_ url: URL) async throws -> MediaInput {
        let asset = AVURLAsset(url: url)
        let duration = try await asset.load(.duration)
        let durationMs = UInt64(max(0, duration.seconds) * 1000)
        let hasher = try VideoHasher(options: VideoHasherOptions(
            secondsPerHash: 1.0, expectedDurationMs: durationMs, maxDurationMs: 7_200_000, maxFrames: 7200))
        let generator = AVAssetImageGenerator(asset: asset)
        generator.appliesPreferredTrackTransform = true
        generator.requestedTimeToleranceBefore = .zero
        generator.requestedTimeToleranceAfter = CMTime(value: 1, timescale: 10)
        return try await withTaskCancellationHandler {
            let endUs = durationMs * 1000
            var last: UInt64?
            // Seek to each frame the hasher wants (one per second), never decoding the rest.
            while let t = hasher.nextWantedTimestampUs(), t <= endUs, t != last {
                try Task.checkCancellation()
                last = t
                let time = CMTime(value: CMTimeValue(t), timescale: 1_000_000)
                guard let frame = try? await generator.image(at: time) else { continue }
                let (rgba, w, h) = try rgbaPixels(frame.image)
                _ = try hasher.pushRgbaFrame(pixels: rgba, width: UInt32(w), height: UInt32(h),
                                             stride: UInt32(w * 4), timestampUs: t)
            }
            let file = try FileHandle(forReadingFrom: url)
            defer { try? file.close() }
            while let chunk = try file.read(upToCount: 1 << 20), !chunk.isEmpty {
                try Task.checkCancellation()
                try hasher.pushFileBytes(chunk: chunk)
            }
            return .video(fingerprints: try hasher.finish())
        } onCancel: {
            hasher.cancel()
        }
    }

    // MARK: item providers

    static func loadData(_ provider: NSItemProvider, type: UTType) async throws -> Data {
        try await withCheckedThrowingContinuation { c in
            _ = provider.loadDataRepresentation(forTypeIdentifier: type.identifier) { data, error in
                if let data { c.resume(returning: data) } else { c.resume(throwing: error ?? CocoaError(.fileReadUnknown)) }
            }
        }
    }

    /// A copy in the caches directory (the provider's file lives only in its callback).
    static func copyFile(_ provider: NSItemProvider, type: UTType) async throws -> URL {
        try await withCheckedThrowingContinuation { c in
            _ = provider.loadFileRepresentation(forTypeIdentifier: type.identifier) { url, error in
                guard let url else { c.resume(throwing: error ?? CocoaError(.fileReadUnknown)); return }
                do {
                    var dest = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
                    dest.appendPathExtension(url.pathExtension)
                    try FileManager.default.copyItem(at: url, to: dest)
                    var values = URLResourceValues()
                    values.isExcludedFromBackup = true
                    try? dest.setResourceValues(values)
                    c.resume(returning: dest)
                } catch {
                    c.resume(throwing: error)
                }
            }
        }
    }

    /// A 240-pixel JPEG thumbnail, in memory.
    static func thumbnail(_ provider: NSItemProvider, video: Bool) async -> Data? {
        if video {
            guard let url = try? await copyFile(provider, type: .movie) else { return nil }
            defer { try? FileManager.default.removeItem(at: url) }
            let generator = AVAssetImageGenerator(asset: AVURLAsset(url: url))
            generator.appliesPreferredTrackTransform = true
            generator.maximumSize = CGSize(width: 240, height: 240)
            guard let frame = try? await generator.image(at: .zero) else { return nil }
            return jpeg(frame.image)
        }
        guard let data = try? await loadData(provider, type: .image),
              let src = CGImageSourceCreateWithData(data as CFData, nil),
              let image = CGImageSourceCreateThumbnailAtIndex(src, 0, [
                  kCGImageSourceCreateThumbnailFromImageAlways: true,
                  kCGImageSourceCreateThumbnailWithTransform: true,
                  kCGImageSourceThumbnailMaxPixelSize: 240,
              ] as CFDictionary)
        else { return nil }
        return jpeg(image)
    }

    static func jpeg(_ image: CGImage) -> Data? {
        let out = NSMutableData()
        guard let dest = CGImageDestinationCreateWithData(out as CFMutableData, UTType.jpeg.identifier as CFString, 1, nil) else { return nil }
        CGImageDestinationAddImage(dest, image, [kCGImageDestinationLossyCompressionQuality: 0.7] as CFDictionary)
        return CGImageDestinationFinalize(dest) ? out as Data : nil
    }
}

/// PHPickerViewController for SwiftUI: pictures and videos, any number, the original
/// representation (HEIC stays HEIC, so the file's hashes are the file's).
struct PhotoPicker: UIViewControllerRepresentable {
    let onPicked: ([PHPickerResult]) -> Void

    func makeUIViewController(context: Context) -> PHPickerViewController {
        var config = PHPickerConfiguration()  // no photo library: no permission, no asset ids
        config.filter = .any(of: [.images, .videos])
        config.selectionLimit = 0
        config.preferredAssetRepresentationMode = .current
        let picker = PHPickerViewController(configuration: config)
        picker.delegate = context.coordinator
        return picker
    }

    func updateUIViewController(_ controller: PHPickerViewController, context: Context) {}

    func makeCoordinator() -> Coordinator { Coordinator(onPicked) }

    final class Coordinator: NSObject, PHPickerViewControllerDelegate {
        let onPicked: ([PHPickerResult]) -> Void
        init(_ onPicked: @escaping ([PHPickerResult]) -> Void) { self.onPicked = onPicked }
        func picker(_ picker: PHPickerViewController, didFinishPicking results: [PHPickerResult]) {
            onPicked(results)
        }
    }
}
