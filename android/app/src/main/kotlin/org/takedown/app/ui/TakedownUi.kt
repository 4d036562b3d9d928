package org.takedown.app.ui

import android.annotation.SuppressLint
import android.content.ClipData
import android.content.ClipDescription
import android.content.ClipboardManager
import android.content.Context
import android.graphics.Bitmap
import android.net.Uri
import android.os.PersistableBundle
import android.text.format.DateFormat
import android.util.Size
import androidx.activity.compose.BackHandler
import androidx.compose.foundation.Image
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.LazyListScope
import androidx.compose.foundation.lazy.itemsIndexed
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.selection.selectable
import androidx.compose.foundation.text.selection.SelectionContainer
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.material3.darkColorScheme
import androidx.compose.material3.lightColorScheme
import androidx.compose.material3.pulltorefresh.PullToRefreshBox
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.produceState
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.foundation.isSystemInDarkTheme
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.heading
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import com.google.zxing.BarcodeFormat
import com.google.zxing.qrcode.QRCodeWriter
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import org.takedown.app.viewmodel.AgeAnswer
import org.takedown.app.viewmodel.AppViewModel
import org.takedown.app.viewmodel.DeleteStep
import org.takedown.app.viewmodel.Screen
import org.takedown.app.viewmodel.UiText
import org.takedown.core.SubmitterRole

/*
 * The thin UI: renders the view models' state and forwards taps. No decisions are made
 * here (they are in :viewmodels, tested on the JVM); every text is a string resource.
 * Text sizes are in sp through MaterialTheme.typography, so they follow the system's font
 * size; the Material colour schemes meet contrast guidelines.
 */

/** Looks up a view model's text by its resource name. */
@SuppressLint("DiscouragedApi")
@Composable
fun text(t: UiText): String {
    val context = LocalContext.current
    val res = context.resources
    val args = t.args.toTypedArray()
    return if (t.quantity != null) {
        res.getQuantityString(res.getIdentifier(t.key, "plurals", context.packageName), t.quantity!!, *args)
    } else {
        res.getString(res.getIdentifier(t.key, "string", context.packageName), *args)
    }
}

@Composable
private fun s(key: String, vararg args: Any): String = text(UiText(key, args.toList()))

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun TakedownUi(vm: AppViewModel, openPicker: () -> Unit) {
    val scheme = if (isSystemInDarkTheme()) darkColorScheme() else lightColorScheme()
    MaterialTheme(colorScheme = scheme) {
        val screen by vm.screen.collectAsStateWithLifecycle()
        val canGoBack = screen !in listOf(Screen.Start, Screen.Lock, Screen.Opening, Screen.Closed) && screen !is Screen.Unavailable
        BackHandler(enabled = canGoBack) { vm.back() }
        Scaffold(
            topBar = {
                TopAppBar(
                    title = {},
                    navigationIcon = {
                        if (canGoBack) TextButton(onClick = vm::back) { Text(s("action_back")) }
                    },
                    actions = { QuickExit(vm) },
                )
            },
        ) { padding ->
            Box(Modifier.padding(padding).fillMaxSize()) {
                when (val sc = screen) {
                    Screen.Opening, Screen.Closed -> Box(Modifier.fillMaxSize(), Alignment.Center) { CircularProgressIndicator() }
                    is Screen.Unavailable -> Page {
                        Body(text(sc.message))
                        if (sc.canWipe) Button(onClick = { vm.wipeUnreadableHistory() }) { Text(s("settings_delete")) }
                    }
                    Screen.Lock -> Lock(vm)
                    Screen.Start -> Start(vm)
                    Screen.Eligibility -> Eligibility(vm)
                    Screen.NotEligible -> NotEligible(vm)
                    Screen.Help -> Help()
                    Screen.Pick -> Page {
                        Title(s("pick_title"))
                        Body(s("pick_explain"))
                        Button(onClick = openPicker) { Text(s("pick_open")) }
                    }
                    Screen.Review -> Review(vm, openPicker)
                    Screen.Hashing -> Hashing(vm)
                    Screen.Submit -> Submit(vm)
                    Screen.CaseNumber -> CaseNumber(vm)
                    Screen.Restore -> Restore(vm)
                    Screen.History -> History(vm)
                    is Screen.CaseDetail -> CaseDetail(vm)
                    Screen.Settings -> Settings(vm)
                }
            }
        }
    }
}

@Composable
private fun QuickExit(vm: AppViewModel) {
    val hint = s("quick_exit_hint")
    Button(onClick = vm::quickExit, modifier = Modifier.semantics { contentDescription = hint }) {
        Text(s("quick_exit"))
    }
}

@Composable
private fun Page(content: @Composable () -> Unit) {
    Column(
        Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(20.dp),
        verticalArrangement = Arrangement.spacedBy(14.dp),
    ) { content() }
}

@Composable
private fun Title(t: String) =
    Text(t, style = MaterialTheme.typography.headlineSmall, modifier = Modifier.semantics { heading() })

@Composable
private fun Body(t: String) = Text(t, style = MaterialTheme.typography.bodyLarge)

@Composable
private fun Note(t: UiText?) {
    if (t != null) Text(text(t), color = MaterialTheme.colorScheme.error, style = MaterialTheme.typography.bodyLarge)
}

@Composable
private fun Choice(label: String, selected: Boolean, onSelect: () -> Unit) {
    Row(
        Modifier.fillMaxWidth().selectable(selected = selected, onClick = onSelect, role = Role.RadioButton).padding(4.dp),
        verticalAlignment = Alignment.CenterVertically,
    ) {
        RadioButton(selected = selected, onClick = null)
        Text(label, Modifier.padding(start = 8.dp))
    }
}

@Composable
private fun Lock(vm: AppViewModel) {
    LaunchedEffect(Unit) { vm.unlock() }
    Page {
        Title(s("lock_title"))
        Button(onClick = { vm.unlock() }) { Text(s("lock_unlock")) }
    }
}

@Composable
private fun Start(vm: AppViewModel) = Page {
    Title(s("start_title"))
    Body(s("start_what_it_does"))
    Body(s("start_nothing_leaves"))
    Body(s("start_what_it_cannot"))
    Body(s("start_case_number"))
    Button(onClick = vm::openEligibility, Modifier.fillMaxWidth()) { Text(s("start_begin")) }
    OutlinedButton(onClick = vm::openRestore, Modifier.fillMaxWidth()) { Text(s("start_restore")) }
    OutlinedButton(onClick = { vm.openHistory() }, Modifier.fillMaxWidth()) { Text(s("start_history")) }
    Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        TextButton(onClick = vm::openSettings) { Text(s("start_settings")) }
        TextButton(onClick = vm::openHelp) { Text(s("settings_help")) }
    }
}

@Composable
private fun Eligibility(vm: AppViewModel) {
    val st by vm.eligibility.state.collectAsStateWithLifecycle()
    val e = vm.eligibility
    Page {
        Title(s("eligibility_title"))
        Body(s("eligibility_under_18"))
        Choice(s("answer_yes"), st.age == AgeAnswer.YES) { e.setAge(AgeAnswer.YES) }
        Choice(s("answer_no"), st.age == AgeAnswer.NO) { e.setAge(AgeAnswer.NO) }
        Choice(s("answer_not_sure"), st.age == AgeAnswer.NOT_SURE) { e.setAge(AgeAnswer.NOT_SURE) }
        Body(s("eligibility_role"))
        Choice(s("eligibility_role_self"), st.role == SubmitterRole.PERSON_SHOWN) { e.setRole(SubmitterRole.PERSON_SHOWN) }
        Choice(s("eligibility_role_parent"), st.role == SubmitterRole.PARENT_OR_GUARDIAN) { e.setRole(SubmitterRole.PARENT_OR_GUARDIAN) }
        Choice(s("eligibility_role_other"), st.role == SubmitterRole.SOMEONE_ELSE) { e.setRole(SubmitterRole.SOMEONE_ELSE) }
        Body(s("eligibility_has_pictures"))
        Choice(s("answer_yes"), st.hasPictures == true) { e.setHasPictures(true) }
        Choice(s("answer_no"), st.hasPictures == false) { e.setHasPictures(false) }
        Button(onClick = e::submit, enabled = st.canContinue) { Text(s("action_continue")) }
    }
}

@Composable
private fun NotEligible(vm: AppViewModel) {
    val st by vm.eligibility.state.collectAsStateWithLifecycle()
    Page {
        Title(s("not_eligible_title"))
        st.reasons.forEach { Body(text(it)) }
        Button(onClick = vm::openHelp) { Text(s("not_eligible_help")) }
    }
}

@Composable
private fun Help() = Page {
    Title(s("help_title"))
    Body(s("help_intro"))
    for (i in 1..3) {
        Card(Modifier.fillMaxWidth()) {
            Column(Modifier.padding(12.dp)) {
                Text(s("help_service_${i}_name"), style = MaterialTheme.typography.titleMedium)
                SelectionContainer { Text(s("help_service_${i}_contact")) }
            }
        }
    }
}

/** A thumbnail from the picker's URI, held by the composition only (never written). */
@Composable
private fun Thumbnail(id: String, description: String) {
    val context = LocalContext.current
    val bitmap by produceState<ImageBitmap?>(null, id) {
        value = withContext(Dispatchers.IO) {
            runCatching { context.contentResolver.loadThumbnail(Uri.parse(id), Size(240, 240), null).asImageBitmap() }.getOrNull()
        }
    }
    Box(Modifier.size(72.dp).semantics { contentDescription = description }) {
        bitmap?.let { Image(it, contentDescription = null, modifier = Modifier.fillMaxSize()) }
    }
}

@Composable
private fun ItemList(vm: AppViewModel, modifier: Modifier, header: LazyListScope.() -> Unit) {
    val st by vm.report.state.collectAsStateWithLifecycle()
    val n = st.items.size
    LazyColumn(modifier, verticalArrangement = Arrangement.spacedBy(8.dp)) {
        header()
        itemsIndexed(st.items, key = { _, it -> it.ref.id }) { i, item ->
            Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(12.dp)) {
                Thumbnail(item.ref.id, s("review_thumbnail_description", i + 1, n))
                Column(Modifier.weight(1f)) { item.warning?.let { Text(text(it)) } }
                TextButton(onClick = { vm.report.remove(item.ref.id) }) { Text(s("review_remove")) }
            }
        }
    }
}

@Composable
private fun Review(vm: AppViewModel, openPicker: () -> Unit) {
    val st by vm.report.state.collectAsStateWithLifecycle()
    Column(Modifier.fillMaxSize().padding(20.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Title(s("review_title"))
        Body(text(st.countText))
        Note(st.message)
        ItemList(vm, Modifier.weight(1f)) {}
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedButton(onClick = openPicker) { Text(s("review_add_more")) }
            Button(onClick = vm.report::startHashing, enabled = st.canHash) { Text(s("action_continue")) }
        }
    }
}

@Composable
private fun Hashing(vm: AppViewModel) {
    val st by vm.report.state.collectAsStateWithLifecycle()
    Page {
        Title(s("hashing_title"))
        st.progress?.let { p ->
            Body(text(p.text))
            LinearProgressIndicator(progress = { if (p.total == 0) 0f else p.done.toFloat() / p.total }, modifier = Modifier.fillMaxWidth())
        }
        Body(s("hashing_stays_here"))
        OutlinedButton(onClick = vm.report::cancelHashing) { Text(s("action_cancel")) }
    }
}

@Composable
private fun Submit(vm: AppViewModel) {
    val st by vm.report.state.collectAsStateWithLifecycle()
    Column(Modifier.fillMaxSize().padding(20.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Title(s("submit_title"))
        Body(s("submit_explain"))
        Note(st.message)
        ItemList(vm, Modifier.weight(1f)) {}
        if (st.sending) LinearProgressIndicator(Modifier.fillMaxWidth())
        Button(onClick = { vm.report.send() }, enabled = st.canSend, modifier = Modifier.fillMaxWidth()) { Text(s("submit_send")) }
    }
}

/** Copies without showing the text in the clipboard preview (Android 13+). */
private fun copySensitive(context: Context, label: String, value: String) {
    val clip = ClipData.newPlainText(label, value)
    clip.description.extras = PersistableBundle().apply { putBoolean(ClipDescription.EXTRA_IS_SENSITIVE, true) }
    context.getSystemService(ClipboardManager::class.java).setPrimaryClip(clip)
}

private fun qr(value: String): ImageBitmap {
    val m = QRCodeWriter().encode(value, BarcodeFormat.QR_CODE, 512, 512)
    val bmp = Bitmap.createBitmap(m.width, m.height, Bitmap.Config.ARGB_8888)
    for (y in 0 until m.height) for (x in 0 until m.width) bmp.setPixel(x, y, if (m[x, y]) -0x1000000 else -0x1)
    return bmp.asImageBitmap()
}

@Composable
private fun CaseNumber(vm: AppViewModel) {
    val st by vm.report.state.collectAsStateWithLifecycle()
    val context = LocalContext.current
    var showQr by remember { mutableStateOf(false) }
    var copied by remember { mutableStateOf(false) }
    val r = st.result ?: return
    Page {
        Title(s("case_title"))
        Note(st.message)
        Text(s("case_number_label"), style = MaterialTheme.typography.titleMedium)
        SelectionContainer { Text(r.caseNumber ?: s("submit_queued"), style = MaterialTheme.typography.headlineSmall) }
        r.recoveryKey?.let { key ->
            Text(s("recovery_key_label"), style = MaterialTheme.typography.titleMedium)
            SelectionContainer { Text(key, style = MaterialTheme.typography.headlineSmall) }
        }
        Body(s("case_write_down"))
        val saved = both(r.caseNumber, r.recoveryKey)
        if (saved.isNotEmpty()) {
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                OutlinedButton(onClick = { copySensitive(context, "", saved); copied = true }) { Text(s("case_copy")) }
                OutlinedButton(onClick = { showQr = true }) { Text(s("case_show_qr")) }
            }
        }
        if (copied) Body(s("case_copied"))
        Spacer(Modifier.height(8.dp))
        Button(onClick = vm.report::done, Modifier.fillMaxWidth()) { Text(s("case_done")) }
    }
    if (showQr) {
        val label = s("case_show_qr")
        AlertDialog(
            onDismissRequest = { showQr = false },
            confirmButton = { TextButton(onClick = { showQr = false }) { Text(s("action_close")) } },
            text = { Image(qr(both(r.caseNumber, r.recoveryKey)), contentDescription = label, modifier = Modifier.size(240.dp)) },
        )
    }
}

private fun both(number: String?, key: String?) = listOfNotNull(number, key).joinToString("\n")

@Composable
private fun Restore(vm: AppViewModel) {
    val st by vm.restore.state.collectAsStateWithLifecycle()
    Page {
        Title(s("restore_title"))
        OutlinedTextField(st.caseNumber, vm.restore::setCaseNumber, label = { Text(s("restore_number_hint")) }, singleLine = true)
        OutlinedTextField(st.recoveryKey, vm.restore::setRecoveryKey, label = { Text(s("restore_key_hint")) }, singleLine = true)
        Note(st.message)
        if (st.busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        Button(onClick = { vm.restore.restore() }, enabled = st.canRestore) { Text(s("restore_action")) }
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
private fun History(vm: AppViewModel) {
    val st by vm.history.state.collectAsStateWithLifecycle()
    PullToRefreshBox(isRefreshing = st.refreshing, onRefresh = { vm.history.refresh() }, modifier = Modifier.fillMaxSize()) {
        LazyColumn(Modifier.fillMaxSize().padding(20.dp), verticalArrangement = Arrangement.spacedBy(10.dp)) {
            item { Title(s("history_title")) }
            item { Note(st.message) }
            st.updatedAtMs?.let { ms ->
                item { Text(s("history_updated", DateFormat.getTimeFormat(LocalContext.current).format(ms))) }
            }
            if (st.isEmpty) item { Body(s("history_empty")) }
            itemsIndexed(st.rows, key = { _, r -> r.caseId }) { _, row ->
                Card(onClick = { vm.openCase(row.caseId) }, modifier = Modifier.fillMaxWidth()) {
                    Column(Modifier.padding(14.dp)) {
                        Text(row.caseNumber ?: s("state_queued"), style = MaterialTheme.typography.titleMedium)
                        Text(text(row.state))
                        if (row.isNew) Text(s("history_new_since_visit"), color = MaterialTheme.colorScheme.primary)
                    }
                }
            }
            item { OutlinedButton(onClick = { vm.history.refresh() }) { Text(s("history_refresh")) } }
        }
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
private fun CaseDetail(vm: AppViewModel) {
    val st by vm.detail.state.collectAsStateWithLifecycle()
    val d = vm.detail
    PullToRefreshBox(isRefreshing = st.busy, onRefresh = { d.refresh() }, modifier = Modifier.fillMaxSize()) {
        LazyColumn(Modifier.fillMaxSize().padding(20.dp), verticalArrangement = Arrangement.spacedBy(10.dp)) {
            item { st.title?.let { Title(text(it)) } }
            item { st.stateText?.let { Body(text(it)) } }
            st.recoveryKey?.let { key ->
                item {
                    Column {
                        Text(s("recovery_key_label"), style = MaterialTheme.typography.titleMedium)
                        SelectionContainer { Text(key) }
                    }
                }
            }
            item { Note(st.message) }
            itemsIndexed(st.items, key = { _, it -> it.itemId }) { _, item ->
                Card(Modifier.fillMaxWidth()) {
                    Column(Modifier.padding(14.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
                        Text(text(item.title), style = MaterialTheme.typography.titleMedium)
                        Text(text(item.stateText))
                        Text(text(item.seenByText))
                        Text(text(item.foundOnText))
                        Text(text(item.removedOnText))
                        if (item.lowQuality) Text(s("review_low_quality"))
                        if (item.canWithdraw) TextButton(onClick = { d.withdrawItem(item.itemId) }) { Text(s("detail_withdraw_item")) }
                    }
                }
            }
            item {
                Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                    if (st.canAddMore) OutlinedButton(onClick = d::addMore) { Text(s("detail_add_more")) }
                    if (st.canResubmit) Button(onClick = { d.resubmit() }) { Text(s("submit_resubmit")) }
                    if (st.canCancelQueued) OutlinedButton(onClick = { d.cancelQueued() }) { Text(s("submit_cancel_queued")) }
                    if (st.canWithdrawAll) OutlinedButton(onClick = d::askWithdrawAll) { Text(s("detail_withdraw_all")) }
                }
            }
        }
    }
    if (st.confirmWithdrawAll) {
        AlertDialog(
            onDismissRequest = d::dismissWithdrawAll,
            text = { Text(s("detail_withdraw_confirm")) },
            confirmButton = { TextButton(onClick = { d.confirmWithdrawAll() }) { Text(s("detail_withdraw_all")) } },
            dismissButton = { TextButton(onClick = d::dismissWithdrawAll) { Text(s("action_cancel")) } },
        )
    }
}

@Composable
private fun Settings(vm: AppViewModel) {
    val st by vm.settings.state.collectAsStateWithLifecycle()
    val set = vm.settings
    Page {
        Title(s("settings_title"))
        Row(verticalAlignment = Alignment.CenterVertically) {
            Column(Modifier.weight(1f)) {
                Text(s("settings_app_lock"), style = MaterialTheme.typography.titleMedium)
                Text(s("settings_app_lock_summary"))
            }
            Switch(checked = st.lockEnabled, onCheckedChange = { set.setLock(it) }, enabled = st.lockAvailable || st.lockEnabled)
        }
        Row(verticalAlignment = Alignment.CenterVertically) {
            Text(s("settings_neutral_icon"), Modifier.weight(1f), style = MaterialTheme.typography.titleMedium)
            Switch(checked = st.neutralIcon, onCheckedChange = set::setNeutralIcon)
        }
        Text(s("settings_language"), style = MaterialTheme.typography.titleMedium)
        Text(s("settings_language_summary"))
        Note(st.message)
        OutlinedButton(onClick = set::askDelete, enabled = !st.busy) { Text(s("settings_delete")) }
        TextButton(onClick = vm::openHelp) { Text(s("settings_help")) }
    }
    st.deleteText?.let { t ->
        AlertDialog(
            onDismissRequest = set::dismissDelete,
            text = { Text(text(t)) },
            confirmButton = {
                if (st.deleteStep == DeleteStep.PENDING_WARNING) {
                    TextButton(onClick = { set.deleteAnyway() }) { Text(s("settings_delete_anyway")) }
                } else {
                    TextButton(onClick = { set.confirmDelete() }) { Text(s("settings_delete")) }
                }
            },
            dismissButton = { TextButton(onClick = set::dismissDelete) { Text(s("action_cancel")) } },
        )
    }
}
