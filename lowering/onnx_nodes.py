"""ONNX node helpers shared by the importer (onnx_import.py) and the quantizer lowering (qonnx.py), which
onnx_import runs: here so that qonnx does not import its caller back."""

from __future__ import annotations


def evaluate_node(node, inputs: dict, opset_import) -> list:
    """One ONNX node run by onnx's reference evaluator on constant `inputs` (name -> array)."""
    import onnx
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    single = helper.make_model(helper.make_graph(
        [node], "fold", [], [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None)
                             for o in node.output]), opset_imports=opset_import)
    return ReferenceEvaluator(single).run(None, inputs)


def unsupported_message(name: str, op_type: str, detail: str) -> str:
    return f"unsupported ONNX op type '{op_type}' (node '{name}'): {detail}"
