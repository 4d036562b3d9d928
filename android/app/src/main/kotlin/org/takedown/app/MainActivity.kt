package org.takedown.app

import android.app.Application
import android.net.ConnectivityManager
import android.net.Network
import android.os.Bundle
import android.view.WindowManager
import androidx.activity.compose.setContent
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.fragment.app.FragmentActivity
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import androidx.lifecycle.viewModelScope
import java.lang.ref.WeakReference
import kotlinx.coroutines.launch
import org.takedown.app.platform.AndroidMediaSource
import org.takedown.app.ui.TakedownUi
import org.takedown.app.viewmodel.AppViewModel
import org.takedown.app.viewmodel.MediaRef
import org.takedown.app.viewmodel.Platform
import org.takedown.app.viewmodel.Screen
import org.takedown.core.MediaKind

/** Keeps the view models across configuration changes (rotation). */
class AppHolder(application: Application) : AndroidViewModel(application) {
    private val app = application as TakedownApplication
    val vm = AppViewModel(
        app.cores,
        Platform(AndroidMediaSource(app), app.lock, app.preferences, app.scheduler),
        viewModelScope,
    ).also { it.start() }

    override fun onCleared() = vm.clear()
}

/**
 * The one activity: secure window (no screenshots, blank in the app switcher), the photo
 * picker, quick exit. Everything else is the view models' (rendered by [TakedownUi]).
 */
class MainActivity : FragmentActivity() {
    private val holder: AppHolder by viewModels()
    private val network = object : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) {
            holder.vm.onConnectivityRestored()
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        window.setFlags(WindowManager.LayoutParams.FLAG_SECURE, WindowManager.LayoutParams.FLAG_SECURE)
        val vm = holder.vm
        // The system photo picker: no gallery permission; the app sees only what is chosen.
        val picker = registerForActivityResult(ActivityResultContracts.PickMultipleVisualMedia(MAX_ITEMS)) { uris ->
            vm.onPickerClosed()
            vm.report.onPicked(
                uris.map { uri ->
                    val video = contentResolver.getType(uri)?.startsWith("video/") == true
                    MediaRef(uri.toString(), if (video) MediaKind.VIDEO else MediaKind.IMAGE)
                },
            )
        }
        setContent {
            TakedownUi(
                vm = vm,
                openPicker = {
                    vm.onPickerOpened()
                    picker.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageAndVideo))
                },
            )
        }
        lifecycleScope.launch {
            repeatOnLifecycle(Lifecycle.State.CREATED) {
                // Quick exit: leave at once and take the task out of recents.
                vm.screen.collect { if (it == Screen.Closed) finishAndRemoveTask() }
            }
        }
    }

    override fun onStart() {
        super.onStart()
        (application as TakedownApplication).foreground = WeakReference(this)
        getSystemService(ConnectivityManager::class.java).registerDefaultNetworkCallback(network)
    }

    override fun onStop() {
        getSystemService(ConnectivityManager::class.java).unregisterNetworkCallback(network)
        if (!isChangingConfigurations) holder.vm.onBackgrounded()
        super.onStop()
    }

    companion object {
        /** The picker's limit per choice ("choose more" adds to it). */
        const val MAX_ITEMS = 50
    }
}
