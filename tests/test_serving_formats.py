"""Per-class thresholds in the configs serving stacks read: DeepStream's
nvinfer (INI and YAML), nvinferserver (protobuf text), Roboflow Workflows,
and the engines with one score threshold (TensorRT, ONNX, Detectron2,
MMDetection, Ultralytics) whose files carry the per-class post-filter.
Each file is written for the demo's per-class result and read back with
the format's own parser."""

import configparser
import json
import os
import runpy

import numpy as np
import pytest
import yaml

import fiftyone.operators as foo

from optimal_confidence import apply_thresholds, compute_optimal_confidence
from optimal_confidence.__main__ import main
from optimal_confidence.outputs.deployment import FORMATS, export_format, threshold_for
from optimal_confidence.outputs.serving import SERVING_FORMATS
from optimal_confidence.spec.options import option
from optimal_confidence.store.files import EXPORT_DIR_ENV

from helpers import snapshot

#: DeepStream's sample order (its labels.txt), with a class the demo has not
LABELS = ["person", "bicycle", "car", "roadsign"]


@pytest.fixture(scope="module")
def result(demo_dataset):
    return compute_optimal_confidence(demo_dataset, "predictions", per_class=True, progress=False)


@pytest.fixture(scope="module")
def config(result):
    return result.deployment_config()


@pytest.fixture(scope="module")
def pairs(demo_dataset):
    return [(d.label, d.confidence) for s in demo_dataset.values("predictions") if s for d in s.detections]


@pytest.fixture
def labels_file(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("\n".join(LABELS) + "\n")
    return path


def test_the_demo_has_distinct_class_thresholds(config):
    # what the other tests rely on: classes kept at different thresholds
    by_class = config["class_thresholds"]
    assert set(by_class) == {"car", "person", "bicycle"}
    assert min(by_class.values()) != max(by_class.values())


def _expected_by_id(config):
    return {i: threshold_for(config, name) for i, name in enumerate(LABELS)}


def test_deepstream_groups_read_back_as_its_key_file_parser_does(result, config, labels_file, tmp_path):
    path = result.export(tmp_path / "nvinfer.txt", "deepstream", labels=labels_file)
    ini = configparser.ConfigParser(interpolation=None)  # GKeyFile: groups, key=value, # comments
    ini.read(path)
    lowest = min([config["threshold"], *config["class_thresholds"].values()])
    assert ini.sections() == ["class-attrs-all"] + [f"class-attrs-{i}" for i in range(len(LABELS))]
    assert float(ini["class-attrs-all"]["pre-cluster-threshold"]) == lowest
    got = {i: float(ini[f"class-attrs-{i}"]["pre-cluster-threshold"]) for i in range(len(LABELS))}
    assert got == _expected_by_id(config)
    # car is line 3 of the labels file: id 2, at car's own threshold
    assert got[2] == config["class_thresholds"]["car"]
    # roadsign has no threshold of its own: the global one
    assert got[3] == config["threshold"]
    text = open(path).read()
    assert "Merge these groups into your model's nvinfer config" in text and "[property]" not in text.split("\n[")[1:]


def test_deepstream_yaml_mappings_read_back(result, config, labels_file, tmp_path):
    path = result.export(tmp_path / "nvinfer.yml", "deepstream-yaml", labels=labels_file)
    doc = yaml.safe_load(open(path))
    assert list(doc) == ["class-attrs-all"] + [f"class-attrs-{i}" for i in range(len(LABELS))]
    assert {i: doc[f"class-attrs-{i}"]["pre-cluster-threshold"] for i in range(len(LABELS))} == _expected_by_id(config)
    assert doc["class-attrs-all"] == {"pre-cluster-threshold": min(_expected_by_id(config).values())}


def _nvinferserver_messages():
    """The message types of the subset written, field names and numbers as
    in DeepStream's nvdsinferserver_plugin.proto / _config.proto /
    _common.proto (PluginControl.infer_config = 1,
    InferenceConfig.postprocess = 6, PostProcessParams.detection = 2,
    DetectionParams.num_detected_classes = 1, per_class_params = 2 (map<int32,
    PerClassParams>), PerClassParams.pre_threshold = 1)."""
    pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    f = descriptor_pb2.FileDescriptorProto(name="oc_nvdsinferserver_subset.proto", package="nvdsinferserver.config", syntax="proto3")

    def message(name, fields, nested=()):
        m = descriptor_pb2.DescriptorProto(name=name)
        for fname, number, ftype, type_name, label in fields:
            m.field.add(name=fname, number=number, type=ftype, type_name=type_name or None, label=label)
        m.nested_type.extend(nested)
        return m

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    entry = message("PerClassParamsEntry", [
        ("key", 1, F.TYPE_INT32, "", opt),
        ("value", 2, F.TYPE_MESSAGE, ".nvdsinferserver.config.DetectionParams.PerClassParams", opt),
    ])
    entry.options.map_entry = True
    per_class = message("PerClassParams", [("pre_threshold", 1, F.TYPE_FLOAT, "", opt)])
    f.message_type.extend([
        message("DetectionParams", [
            ("num_detected_classes", 1, F.TYPE_INT32, "", opt),
            ("per_class_params", 2, F.TYPE_MESSAGE, ".nvdsinferserver.config.DetectionParams.PerClassParamsEntry", rep),
        ], nested=[per_class, entry]),
        message("PostProcessParams", [
            ("labelfile_path", 1, F.TYPE_STRING, "", opt),
            ("detection", 2, F.TYPE_MESSAGE, ".nvdsinferserver.config.DetectionParams", opt),
        ]),
        message("InferenceConfig", [("postprocess", 6, F.TYPE_MESSAGE, ".nvdsinferserver.config.PostProcessParams", opt)]),
        message("PluginControl", [("infer_config", 1, F.TYPE_MESSAGE, ".nvdsinferserver.config.InferenceConfig", opt)]),
    ])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("nvdsinferserver.config.PluginControl"))


def test_nvinferserver_text_parses_as_its_protobuf_messages(result, config, labels_file, tmp_path):
    PluginControl = _nvinferserver_messages()
    from google.protobuf import text_format

    path = result.export(tmp_path / "triton.pbtxt", labels=labels_file)  # the extension decides
    msg = text_format.Parse(open(path).read(), PluginControl())
    det = msg.infer_config.postprocess.detection
    assert det.num_detected_classes == len(LABELS)
    got = {k: v.pre_threshold for k, v in det.per_class_params.items()}
    want = {i: float(np.float32(t)) for i, t in _expected_by_id(config).items()}
    assert got == want


def test_the_roboflow_step_is_the_per_class_filter_block(result, config, pairs, tmp_path):
    path = result.export(tmp_path / "filter.json", "roboflow")  # no ids: no labels needed
    step = json.load(open(path))
    assert step["type"] == "roboflow_core/per_class_confidence_filter@v1"
    assert step["class_thresholds"] == config["class_thresholds"]
    assert step["default_threshold"] == config["threshold"]
    # the block keeps confidence >= the class's threshold, else default_threshold's
    block = [p for p in pairs if p[1] >= step["class_thresholds"].get(p[0], step["default_threshold"])]
    assert apply_thresholds(pairs, path) == block == apply_thresholds(pairs, config)


@pytest.mark.parametrize("fmt, name", [
    ("tensorrt", "nms.json"), ("onnx", "nms.json"), ("detectron2", "d2.yaml"),
    ("mmdetection", "mmdet.py"), ("ultralytics", "predict.yaml"),
])
def test_scalar_engines_get_the_lowest_threshold_and_the_post_filter(result, config, pairs, tmp_path, fmt, name):
    lowest = min([config["threshold"], *config["class_thresholds"].values()])
    path = result.export(tmp_path / name, fmt)
    if fmt in ("tensorrt", "onnx"):
        doc = json.load(open(path))
        assert (doc["op_type"], doc["score_threshold"]) == (
            {"tensorrt": "EfficientNMS_TRT", "onnx": "NonMaxSuppression"}[fmt], lowest,
        )
    elif fmt == "detectron2":  # yacs reads it with yaml.safe_load
        model = yaml.safe_load(open(path))["MODEL"]
        t = model["ROI_HEADS"]["SCORE_THRESH_TEST"]
        assert t == model["RETINANET"]["SCORE_THRESH_TEST"]
        # Detectron2 keeps scores > t, in float32: a score at the lowest threshold passes
        assert np.float32(lowest) > np.float32(t) and t > lowest - 1e-6
    elif fmt == "mmdetection":  # a Python config: run as mmengine's Config runs it
        test_cfg = runpy.run_path(path)["model"]["test_cfg"]
        t = test_cfg["score_thr"]
        assert t == test_cfg["rcnn"]["score_thr"]
        assert np.float32(lowest) > np.float32(t) and t > lowest - 1e-6  # MMDetection keeps scores > t
    else:
        assert yaml.safe_load(open(path))["conf"] == lowest
    # what the engine passes, the filter after it cuts to each class's threshold
    engine_out = [p for p in pairs if p[1] >= lowest]
    kept = apply_thresholds(engine_out, path)
    assert kept == apply_thresholds(pairs, config)
    assert len(kept) < len(engine_out)  # the post-filter does drop something


@pytest.mark.parametrize("fmt", SERVING_FORMATS)
def test_every_serving_file_filters_as_the_json_config(result, config, pairs, labels_file, tmp_path, fmt):
    path = result.export(tmp_path / f"c_{fmt}", fmt, labels=labels_file)
    assert apply_thresholds(pairs, path) == apply_thresholds(pairs, config)


def test_an_edited_threshold_is_refused_by_the_post_filter(result, labels_file, pairs, tmp_path):
    path = result.export(tmp_path / "nvinfer.ini", labels=labels_file)  # .ini: deepstream
    text = open(path).read()
    first = text.index("pre-cluster-threshold=", text.index("[class-attrs-0]"))
    open(path, "w").write(text[:first] + "pre-cluster-threshold=0.99\n" + text[text.index("\n", first) + 1:])
    with pytest.raises(ValueError, match="it was edited; export it again"):
        apply_thresholds(pairs, path)
    doc = json.load(open(result.export(tmp_path / "t.json", "tensorrt")))
    doc["score_threshold"] = 0.9
    json.dump(doc, open(tmp_path / "t.json", "w"))
    with pytest.raises(ValueError, match="score_threshold is 0.9 .* it was edited"):
        apply_thresholds(pairs, tmp_path / "t.json")


def test_supervision_class_ids_come_from_the_files_labels(result, config, labels_file, tmp_path):
    sv = pytest.importorskip("supervision")
    path = result.export(tmp_path / "nvinfer.txt", "deepstream", labels=labels_file)
    ids = [LABELS.index(c) for c in ("car", "car", "person", "bicycle")]
    conf = [config["class_thresholds"]["car"], config["class_thresholds"]["car"] - 1e-6,
            config["class_thresholds"]["person"], config["class_thresholds"]["bicycle"] - 1e-6]
    det = sv.Detections(xyxy=np.zeros((4, 4)), confidence=np.array(conf), class_id=np.array(ids))
    assert apply_thresholds(det, path).class_id.tolist() == [ids[0], ids[2]]


def test_formats_by_extension_and_refusals_of_a_contradiction():
    assert [export_format(p) for p in ("a.ini", "a.pbtxt", "a.py", "a.yml", "a.json", "a.txt")] == [
        "deepstream", "nvinferserver", "mmdetection", "yaml", "json", "json",
    ]
    for fmt, path in (("deepstream", "a.json"), ("tensorrt", "a.yaml"), ("detectron2", "a.json"), ("nvinferserver", "a.py")):
        with pytest.raises(ValueError, match="export_format|writes"):
            export_format(path, fmt)
    assert set(SERVING_FORMATS) <= set(FORMATS) <= {c.value for c in option("export_format").choices}


def test_a_class_without_an_id_is_refused_before_anything_is_written(demo_dataset, result, tmp_path, capsys):
    short = tmp_path / "labels.txt"
    short.write_text("person\ncar\n")  # no bicycle
    out = tmp_path / "out" / "nvinfer.txt"
    with pytest.raises(ValueError, match=r"no id for 'bicycle'"):
        result.export(out, "deepstream", labels=short)
    with pytest.raises(ValueError, match=r"has no class list .*pass labels"):
        result.export(out, "deepstream")  # the demo dataset has no class list
    with pytest.raises(ValueError, match="line 2 of the labels file .* is empty|Line 2"):
        (tmp_path / "gap.txt").write_text("person\n\ncar\n")
        result.export(out, "nvinferserver", labels=tmp_path / "gap.txt")
    assert not os.path.exists(tmp_path / "out")
    # the command line refuses up front: no run stored, no file
    before = snapshot(demo_dataset)
    code = main([
        "--dataset", demo_dataset.name, "--pred", "predictions", "--per-class", "--save-run", "oc_serving",
        "--export", str(out), "--export-format", "deepstream", "--export-labels", str(short),
    ])
    err = capsys.readouterr().err
    assert code == 2 and "--export-labels" in err and "'bicycle'" in err, err
    assert snapshot(demo_dataset) == before and not os.path.exists(tmp_path / "out")
    # json ignores the labels; the command line with a full labels file writes the ids
    full = tmp_path / "full.txt"
    full.write_text("\n".join(LABELS))
    assert main([
        "--dataset", demo_dataset.name, "--pred", "predictions", "--per-class",
        "--export", str(out), "--export-labels", str(full), "--export-format", "deepstream",
    ]) == 0
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(out)
    assert float(ini["class-attrs-2"]["pre-cluster-threshold"]) == result.class_thresholds["car"]


def test_the_app_reads_the_labels_file_inside_its_export_folder(demo_dataset, result, tmp_path, monkeypatch):
    monkeypatch.setenv(EXPORT_DIR_ENV, str(tmp_path / "exports"))
    folder = tmp_path / "exports" / demo_dataset.name
    folder.mkdir(parents=True)
    (folder / "labels.txt").write_text("\n".join(LABELS))
    op = foo.get_operator("@threshold-lab/optimal_confidence/optimal_confidence")
    with pytest.raises(ValueError) as e:  # a path out of the folder is refused
        op(demo_dataset, "predictions", per_class=True, export_path="x.txt",
           export_format="deepstream", export_labels=str(tmp_path / "labels.txt"))
    assert type(e.value).__name__ == "OptionError" and e.value.option == "export_labels"
    assert not (folder / "x.txt").exists()
    op(demo_dataset, "predictions", per_class=True, export_path="nvinfer.txt",
       export_format="deepstream", export_labels="labels.txt")
    doc = configparser.ConfigParser(interpolation=None)
    doc.read(folder / "nvinfer.txt")
    assert float(doc["class-attrs-0"]["pre-cluster-threshold"]) == result.class_thresholds["person"]


def test_every_front_end_offers_the_labels_file():
    from optimal_confidence.app.form import _FOLD_OF
    from optimal_confidence.cli import parser
    from optimal_confidence.spec.options import ACTION_OPTIONS, NOT_API_OPTIONS

    o = option("export_labels")
    assert (o.group, o.kind, o.when) == ("deployment", "str", ({"export_path": o.when[0]["export_path"]},))
    assert "export_labels" in ACTION_OPTIONS and "export_labels" in NOT_API_OPTIONS
    args = parser().parse_args(["--dataset", "d", "--export", "x.txt", "--export-labels", "labels.txt"])
    assert args.export_labels == "labels.txt"
    assert _FOLD_OF["export_labels"][0] == _FOLD_OF["export_path"][0] == "show_deployment"
    # shown in the form only with an export path, as export_format
    assert not o.shown({}, "detection") and o.shown({"export_path": "x.txt"}, "detection")


def test_a_mapping_that_gives_one_id_to_two_classes_is_refused():
    from optimal_confidence.outputs.serving import class_ids

    with pytest.raises(ValueError, match=r"gives one id to several classes: \['car', 'person'\]"):
        class_ids({"car": 0, "person": 0, "bicycle": 1})
    assert class_ids({"car": 1, "person": 0}) == {"car": 1, "person": 0}
